// Security keys and passkeys (WebAuthn) on the user-scoped socket (see portal_commands.h): the
// daemon makes each ceremony's challenge, keeps it in the session (one use, five minutes, for the
// relying party it was made for), verifies the browser's answer (crypto/webauthn) and stores the
// key in the user's record; a sign-in with a key is the second factor after the password. The
// portal says which origin and relying party id the browser is on (it serves them); the signature
// binds the authenticator's answer to that relying party. Control thread only.
#pragma once

#include "appliance/admin/portal_signin.h"

namespace vmx {

void portal_keys(PortalCall& call);                 // the user's keys: label, created, last used
void portal_key_register_begin(PortalCall& call);   // field rp_id
void portal_key_register_finish(PortalCall& call);  // fields label, client_data, attestation, origin, rp_id
void portal_key_remove(PortalCall& call);           // field label
void portal_key_login_begin(PortalCall& call);      // field rp_id (a session owing its second factor)
void portal_key_login_finish(PortalCall& call);     // fields id, client_data, authenticator_data, signature, origin, rp_id

}  // namespace vmx
