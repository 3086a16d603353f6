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

inline constexpr std::size_t hkdf_sha256_output_bytes_max = std::size_t{255} * 32;  // RFC 5869: L <= 255 * HashLen

// `length` bytes of output keying material, in secret memory. An empty salt means HashLen zero bytes
// (RFC 5869 section 2.2). length 0 or over the maximum: CryptoErrc::invalid_argument.
Result<SecretBytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length);

// The same into a caller's buffer (out.size() is L), for per-record keys that live on the stack and
// are wiped by their owner, and for binary `info`. On failure `out` is wiped.
Result<void> hkdf_sha256_into(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                              std::span<const std::uint8_t> info, std::span<std::uint8_t> out);

// hkdf_sha256_into(ikm, {}, info, out) for a 32-byte ikm (a scope key), with HKDF-Extract's PRK and
// its HMAC key state cached per thread: the hot path of sealed records, which derive a KEK per
// record from few keys, then costs one HMAC over info (out.size() <= 32, info up to 192 bytes).
// The cache holds hkdf_prk_cache_entries ikms with their PRKs in locked secret memory, compares ikms
// in constant time, and wipes an entry when it is evicted and all of them when the thread ends or
// calls hkdf_prk_cache_clear(). Same output and errors as hkdf_sha256_into.
inline constexpr std::size_t hkdf_prk_cache_entries = 8;
Result<void> hkdf_sha256_cached_into(std::span<const std::uint8_t, 32> ikm, std::span<const std::uint8_t> info,
                                     std::span<std::uint8_t> out);

// Wipes the calling thread's cache. A thread that seals calls it when it takes a new key snapshot,
// so that a destroyed (crypto-shredded) scope key does not live on in the cache.
void hkdf_prk_cache_clear() noexcept;
// How many ikms the calling thread's cache holds (for tests of the threads that must clear it).
std::size_t hkdf_prk_cache_used() noexcept;

}  // namespace vmx::crypto
