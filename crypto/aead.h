// AES-256-GCM on the hardware path (Intel ipsec-mb: AES-NI, VAES, VPCLMULQDQ, picked at run time),
// for sealed records and, through the wolfSSL crypto callback, TLS records. Any thread may call
// gcm_seal/gcm_open at the same time, also with one shared AesGcmKey (it is read-only once built).
// Invariants: 96-bit IVs only; tags of 12 to 16 bytes (SP 800-38D); an AesGcmKey is wiped when it
// dies. A (key, IV) pair must never seal twice: callers use a fresh key per record or a counter IV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx::crypto {

inline constexpr std::size_t gcm_key_bytes = 32;
inline constexpr std::size_t gcm_iv_bytes = 12;
inline constexpr std::size_t gcm_tag_bytes = 16;      // what we write; shorter tags only for peers
inline constexpr std::size_t gcm_tag_bytes_min = 12;
// SP 800-38D: at most 2^39 - 256 bits of plaintext per invocation.
inline constexpr std::uint64_t gcm_plaintext_bytes_max = (std::uint64_t{1} << 36) - 32;

// The expanded AES key and GHASH tables (ipsec-mb's gcm_key_data, laid out for the architecture the
// process-wide manager chose; kept opaque here so that ipsec-mb's macros stay out of includers). Move-only; both the source of a move and a destroyed key are wiped.
// It lives where its owner puts it (stack for a per-record key): an owner that keeps one for long
// should keep the raw key in SecretBytes and may rebuild this from it.
class AesGcmKey {
public:
    explicit AesGcmKey(std::span<const std::uint8_t, gcm_key_bytes> key) noexcept;
    ~AesGcmKey();
    AesGcmKey(AesGcmKey&& other) noexcept;
    AesGcmKey& operator=(AesGcmKey&& other) noexcept;
    AesGcmKey(const AesGcmKey&) = delete;
    AesGcmKey& operator=(const AesGcmKey&) = delete;

    // The gcm_key_data, for aead.cc; asserts the key was not moved from.
    const void* expanded() const noexcept;

private:
    static constexpr std::size_t storage_bytes = 1024;  // sizeof(gcm_key_data), checked in aead.cc
    alignas(64) std::uint8_t storage_[storage_bytes];
    bool valid_ = true;
};

// Encrypts `plaintext` into `ciphertext_out` (plaintext.size() bytes; may be plaintext.data() for
// in-place, must not otherwise overlap) and writes a tag of tag_out.size() bytes (12..16).
// Sizes outside those bounds are programmer errors (VMX_ASSERT).
void gcm_seal(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv, std::span<const std::uint8_t> aad,
              std::span<const std::uint8_t> plaintext, std::uint8_t* ciphertext_out, std::span<std::uint8_t> tag_out);

// gcm_seal of the concatenation first || second, without copying them together: the ciphertext of
// both goes to ciphertext_out (first.size() + second.size() bytes, not overlapping either input).
void gcm_seal_two(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv,
                  std::span<const std::uint8_t> aad, std::span<const std::uint8_t> first,
                  std::span<const std::uint8_t> second, std::uint8_t* ciphertext_out, std::span<std::uint8_t> tag_out);

// Decrypts into `plaintext_out` (ciphertext.size() bytes; in-place allowed) and checks the tag
// (12..16 bytes, compared in constant time). On a mismatch the output is zeroed and the result is
// CryptoErrc::authentication_failed: nothing unauthenticated is ever left for the caller (with
// in-place decryption the ciphertext is then gone too). A tag size outside 12..16 or a ciphertext
// over the GCM limit is CryptoErrc::invalid_argument (output zeroed).
Result<void> gcm_open(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv,
                      std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
                      std::uint8_t* plaintext_out, std::span<const std::uint8_t> tag);

// "ipsec-mb 1.3.0 avx512+vaes" and the like: the library version and the code path actually chosen,
// for the start-up log line and `vaultmx status`.
const char* aead_implementation() noexcept;

}  // namespace vmx::crypto
