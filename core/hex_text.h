// Bytes as lower-case hex digits: digests, fingerprints and record keys in messages and files.
// Never for secrets (the string is ordinary memory). Pure; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace vmx {

inline std::string hex_of(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

}  // namespace vmx
