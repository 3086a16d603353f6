// The engine's parameters: plain values filled in by appliance/config.cc (which owns the table of
// defaults and bounds) or directly by tests. Immutable once the engine starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vmx {

struct EngineConfig {
    std::uint32_t shards = 0;                        // 0: one per online CPU
    std::uint32_t connections_per_shard_max = 16384;
    std::uint32_t ring_entries = 4096;               // submission queue size per shard
    std::uint32_t recv_buffer_bytes = 16384;         // size of one provided receive buffer
    std::uint32_t recv_buffers = 256;                // provided buffers per shard (power of two)
    std::uint32_t send_queue_bytes_max = 262144;     // per connection; reading pauses above it
    std::uint32_t idle_timeout_ms = 300000;          // no bytes either way for this long: timeout
    std::uint32_t session_timeout_ms = 3600000;      // whole-session limit
    std::uint32_t grace_period_ms = 10000;           // after SIGTERM, sessions may finish within it
    std::uint32_t inbox_capacity = 4096;             // messages per sender->receiver queue
    bool pin_threads = true;                         // pin shard i to CPU i (mod online CPUs)
};

}  // namespace vmx
