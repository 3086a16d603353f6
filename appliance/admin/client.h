// The CLI's side of the admin socket: connect, send one request, read one reply. Blocking, with a
// deadline on every read and write; used by the `vaultmx` program (one thread).
#pragma once

#include <string>

#include "appliance/admin/protocol.h"
#include "core/result.h"

namespace vmx {

// Errors: the connect's errno (ENOENT, ECONNREFUSED: the daemon is not running; EACCES: no right to
// the socket), ETIMEDOUT, EPROTO for a reply that does not decode.
Result<AdminReply> admin_call(const std::string& socket_path, const AdminRequest& request, int timeout_ms);

}  // namespace vmx
