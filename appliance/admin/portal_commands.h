// The user-scoped socket's commands: what the portal process may ask of the daemon. Every command but
// `login` names a session token (PortalSessions) and acts on that session's user alone: a request
// cannot name another user, because the address is never a field here; the daemon fills it in from
// the session. Commands that an admin also has (history, app passwords, trash, close) run the
// admin command's handler for that user, audited like the admin's, with the portal's uid; the
// staged export's commands (portal_export.h) record themselves the same way.
// Wire format: the admin protocol (protocol.h); replies are JSON objects or arrays with status ok,
// or a short reason with status refused. Control thread only.
#pragma once

#include <cstdint>
#include <string_view>

#include "appliance/admin/commands.h"
#include "appliance/admin/protocol.h"
#include "appliance/admin/server.h"
#include "appliance/auth/portal_sessions.h"

namespace vmx {

struct PortalContext {
    AdminContext& admin;              // the directory, keys, shards and audit log the admin uses
    PortalSessions& sessions;
    std::uint32_t session_max_s = 28800;  // [portal] session_max_s: the ceiling under every organisation's
    const AcmeSchedule* acme = nullptr;   // HTTP-01 answers and the certificates the portal serves; null: off
};

// Runs one request from the portal and answers it (now or after a shard or a worker answered).
void run_portal_command(PortalContext& context, const AdminRequest& request, const AdminPeer& peer,
                        AdminResponder respond);

// Who may use the user-scoped socket: root, and the portal's own user (portal_uid).
bool portal_peer_permitted(const AdminPeer& peer, uid_t portal_uid);

}  // namespace vmx
