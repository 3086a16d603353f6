// OpenSSL's EVP AES-256-GCM behind a tiny C-style interface, for crypto_bench's comparison only.
// Debian's wolfSSL headers (OPENSSL_EXTRA) clash with OpenSSL's, so only openssl_gcm.cc includes
// OpenSSL and nothing here names an OpenSSL type. One OpensslGcm per thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmx::bench {

struct OpensslGcm;  // two EVP_CIPHER_CTX (seal, open) with the key already set

// A 32-byte key; null if OpenSSL refused it.
OpensslGcm* openssl_gcm_new(const std::uint8_t* key);
void openssl_gcm_free(OpensslGcm* gcm);

// 12-byte IV and 16-byte tag. Seal: false if OpenSSL failed. Open: false also on a tag mismatch.
bool openssl_gcm_seal(OpensslGcm* gcm, const std::uint8_t* iv, const std::uint8_t* aad, std::size_t aad_bytes,
                      const std::uint8_t* in, std::size_t bytes, std::uint8_t* out, std::uint8_t* tag);
bool openssl_gcm_open(OpensslGcm* gcm, const std::uint8_t* iv, const std::uint8_t* aad, std::size_t aad_bytes,
                      const std::uint8_t* in, std::size_t bytes, std::uint8_t* out, const std::uint8_t* tag);

// "OpenSSL 3.0.x ..." for the benchmark's context line.
const char* openssl_version_text();

}  // namespace vmx::bench
