// DKIM signing keys (RFC 6376 3.6.1, RFC 8463): making a new private key, deriving the public key
// that is published in DNS as `p=`, and the two primitives a signature needs (the SHA-256 hash in
// base64, and the signature over the canonical header data). OpenSSL's libcrypto does the work;
// this file never includes a wolfSSL header. Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

enum class DkimAlgorithm : std::uint8_t {
    rsa_sha256,      // RSA 2048 bits (RFC 8301: at least 1024 to verify, 2048 to sign)
    ed25519_sha256,  // RFC 8463
};
std::string_view to_string(DkimAlgorithm algorithm) noexcept;          // "rsa", "ed25519"
std::string_view dkim_key_type(DkimAlgorithm algorithm) noexcept;      // the k= tag: "rsa", "ed25519"
// "rsa" or "ed25519" (what to_string writes, as the admin types it); nullopt for anything else.
std::optional<DkimAlgorithm> parse_dkim_algorithm(std::string_view text) noexcept;

// A fresh private key as PKCS#8 PEM text in secret memory.
Result<SecretBytes> generate_dkim_key(DkimAlgorithm algorithm);

// The p= value for a PEM private key of that algorithm: base64 of the SubjectPublicKeyInfo DER for
// RSA, base64 of the raw 32-byte public key for ed25519. crypto invalid_argument when the PEM does
// not hold a key of that algorithm.
Result<std::string> dkim_public_key(DkimAlgorithm algorithm, std::span<const std::uint8_t> private_pem);

// The key record's text (RFC 6376 3.6.1), as one string: "v=DKIM1; k=rsa; p=MIIB...". Splitting it
// into DNS character-strings of at most 255 bytes is the publisher's job.
std::string dkim_txt_record(DkimAlgorithm algorithm, std::string_view public_key);

// base64(SHA-256(data)): the bh= of a canonical body.
std::string dkim_body_hash(std::string_view canonical_body);

// The b= value (base64) for the canonical header data (RFC 6376 3.7): RSASSA-PKCS1-v1_5 over
// SHA-256 for rsa, and for ed25519 PureEdDSA over the SHA-256 hash of the data (RFC 8463 3). crypto
// invalid_argument when the PEM does not hold a key of that algorithm.
Result<std::string> dkim_signature(DkimAlgorithm algorithm, std::span<const std::uint8_t> private_pem,
                                   std::string_view data);

}  // namespace vmx::crypto
