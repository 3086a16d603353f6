// AES Key Wrap (RFC 3394; NIST SP 800-38F "KW") with a 256-bit key-encryption key and the default
// initial value A6A6A6A6A6A6A6A6. Any thread may call it. Invariants: the 64-bit integrity check is
// compared in constant time; on any failure the output is wiped; intermediate blocks and key
// schedules are wiped before returning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx::crypto {

inline constexpr std::size_t key_wrap_kek_bytes = 32;
inline constexpr std::size_t key_wrap_overhead_bytes = 8;  // wrapped = key + 8
inline constexpr std::size_t key_wrap_key_bytes_min = 16;  // RFC 3394: at least two 64-bit blocks

// `key`: a multiple of 8 bytes, at least 16; `out`: exactly key.size() + 8 bytes. Other sizes are
// CryptoErrc::invalid_argument.
Result<void> key_wrap(std::span<const std::uint8_t, key_wrap_kek_bytes> kek, std::span<const std::uint8_t> key,
                      std::span<std::uint8_t> out);

// `wrapped`: a multiple of 8 bytes, at least 24; `out`: exactly wrapped.size() - 8 bytes (else
// invalid_argument). A failed integrity check (wrong KEK, tampered or swapped blob) is
// CryptoErrc::authentication_failed. `out` is wiped on every failure.
Result<void> key_unwrap(std::span<const std::uint8_t, key_wrap_kek_bytes> kek, std::span<const std::uint8_t> wrapped,
                        std::span<std::uint8_t> out);

}  // namespace vmx::crypto
