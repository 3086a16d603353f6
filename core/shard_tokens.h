// Internal to the shard's sources (shard.cc, shard_ending.cc): how timer-heap tokens name a
// connection deadline or a callback, and how long a closing socket reads to EOF.
#pragma once

#include <cstdint>

namespace vmx::shard_detail {

inline constexpr std::uint64_t callback_token_bit = 1ull << 63;
inline constexpr std::uint64_t linger_ms = 2000;  // how long a closing socket reads to EOF

// A connection deadline's token: the slot and its generation (a reused slot's old entries are stale).
inline std::uint64_t connection_token(std::uint32_t slot, std::uint32_t generation) {
    return (static_cast<std::uint64_t>(generation & 0x7fffffffu) << 32) | slot;
}

}  // namespace vmx::shard_detail
