// What vaultmx-portal asks for itself rather than for a user (no session): the key authorization
// of an HTTP-01 challenge the CA is checking (its redirect listener serves it), and the
// certificates from the ACME CA with their keys, which it serves by SNI like the daemon's listeners.
// Only root and the portal's own user reach this socket (portal_peer_permitted).
#pragma once

#include "appliance/admin/portal_commands.h"

namespace vmx {

// acme-challenge: field token -> ok with the key authorization as text, or refused "no such challenge".
AdminReply portal_acme_challenge(const PortalContext& context, const AdminRequest& request);
// tls-certificates: field have (the generation the portal holds) -> ok with
// {"generation":N,"unchanged":true} or {"generation":N,"certificates":[{"names":[…],"chain":PEM,"key":PEM}]}.
AdminReply portal_tls_certificates(const PortalContext& context, const AdminRequest& request);

}  // namespace vmx
