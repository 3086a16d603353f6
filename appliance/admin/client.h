// The CLI's side of the admin socket: connect, send one request, read one reply. Blocking, with a
// deadline on every read and write; used by the `vaultmx` program (one thread).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "appliance/admin/protocol.h"
#include "core/result.h"

namespace vmx {

// Errors: the connect's errno (ENOENT, ECONNREFUSED: the daemon is not running; EACCES: no right to
// the socket), ETIMEDOUT, EPROTO for a reply that does not decode.
Result<AdminReply> admin_call(const std::string& socket_path, const AdminRequest& request, int timeout_ms);

// For a streamed answer (user export): each part frame goes to on_part as it arrives (one frame in
// memory at a time; the daemon sends the next when this one is read), and the last frame is the
// reply. An error from on_part stops the reading (the daemon sees the close) and is returned.
Result<AdminReply> admin_stream(const std::string& socket_path, const AdminRequest& request, int timeout_ms,
                                const std::function<Result<void>(std::string_view)>& on_part);

}  // namespace vmx
