// Listening sockets. Each shard gets its own socket per listener, bound with SO_REUSEPORT so the
// kernel spreads connections over the shards. They are opened by the main thread before the
// shards start (and before privileges are dropped), so a port that cannot be bound stops start-up.
#pragma once

#include "core/result.h"
#include "core/socket_address.h"

namespace vmx {

inline constexpr int listen_backlog = 4096;

Result<int> open_listener_socket(const SocketAddress& address, int backlog = listen_backlog);

}  // namespace vmx
