// The portal's sign-in and credential commands on the user-scoped socket (see portal_commands.h):
// the password through a shard's shared login flow (throttle, bans, login history as `portal`), then
// the second factor here (TOTP, with its replay guard); TOTP enrolment (shown, then confirmed with a
// code before it is stored); password change (the old password is checked like a sign-in); closure
// (confirmed with the password). Control thread only.
#pragma once

#include <string>

#include "appliance/admin/portal_commands.h"
#include "appliance/directory/records.h"

namespace vmx {

// One request of a signed-in session, as a handler gets it.
struct PortalCall {
    PortalContext& context;
    const AdminRequest& request;
    const AdminPeer& peer;
    AdminResponder respond;
    std::string token;
    PortalSession* session;  // good until the sessions change
    User user;               // as stored now
};

// login: fields username, client_ip, tls, session_s (optional: the user's choice of session length,
// at least 300 s; the organisation's ceiling and [portal] session_max_s still bound it); the password
// is the request's secret.
void portal_login(PortalContext& context, const AdminRequest& request, const AdminPeer& peer, AdminResponder respond);
void portal_second_factor(PortalCall& call);   // field code
void portal_totp_begin(PortalCall& call);
void portal_totp_confirm(PortalCall& call);    // field code
void portal_totp_disable(PortalCall& call);    // field code
void portal_passwd(PortalCall& call);          // secret: the old password, a line feed, the new one
void portal_close(PortalCall& call);           // secret: the password
void portal_reopen(PortalCall& call);          // a closed account's holder undoes the closure

}  // namespace vmx
