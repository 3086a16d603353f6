// HMAC-SHA256 (RFC 2104) through wolfCrypt, over several parts as if they were one message, so that
// a caller can MAC a secret next to other fields without copying it into a joined buffer. Stateless;
// any thread. SHA-256 is constant time in software, so the Debian wolfSSL without AES-NI is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx::crypto {

inline constexpr std::size_t hmac_sha256_bytes = 32;

// HMAC-SHA256(key, parts[0] || parts[1] || ...) into `out`. An empty key is allowed (RFC 2104 pads
// it). CryptoErrc::invalid_argument when a length does not fit wolfCrypt's 32 bits or wolfCrypt
// fails; `out` is wiped then. The keyed state is wiped before returning either way.
Result<void> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts,
                         std::span<std::uint8_t, hmac_sha256_bytes> out);

}  // namespace vmx::crypto
