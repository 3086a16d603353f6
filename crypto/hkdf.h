// HKDF-SHA256 (RFC 5869) through wolfCrypt. Any thread may call it. SHA-256 and HMAC are constant
// time in software (no secret-indexed tables), so the Debian wolfSSL without AES-NI is fine here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

inline constexpr std::size_t hkdf_sha256_output_bytes_max = 255 * 32;  // RFC 5869: L <= 255 * HashLen

// `length` bytes of output keying material, in secret memory. An empty salt means HashLen zero bytes
// (RFC 5869 section 2.2). length 0 or over the maximum: CryptoErrc::invalid_argument.
Result<SecretBytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length);

// The same into a caller's buffer (out.size() is L), for per-record keys that live on the stack and
// are wiped by their owner, and for binary `info`. On failure `out` is wiped.
Result<void> hkdf_sha256_into(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                              std::span<const std::uint8_t> info, std::span<std::uint8_t> out);

}  // namespace vmx::crypto
