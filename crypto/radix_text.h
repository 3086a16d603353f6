// Bytes as text in an alphabet of 2^Bits symbols, most significant bits first, without padding:
// RFC 4648's base32 (TOTP secrets) and base64url (WebAuthn). Header-only; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vmx::crypto {

template <unsigned Bits>
std::string radix_encode(std::span<const std::uint8_t> bytes, std::string_view alphabet) {
    static_assert(Bits >= 1 && Bits <= 6);
    constexpr std::uint32_t mask = (1u << Bits) - 1;
    std::string out;
    out.reserve((bytes.size() * 8 + Bits - 1) / Bits);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const std::uint8_t byte : bytes) {
        acc = ((acc << 8) | byte) & 0xFFFF;  // at most Bits - 1 + 8 bits are ever pending
        bits += 8;
        while (bits >= Bits) {
            bits -= Bits;
            out.push_back(alphabet[(acc >> bits) & mask]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(acc << (Bits - bits)) & mask]);
    return out;
}

}  // namespace vmx::crypto
