// Credential public keys in COSE_Key form (RFC 9052 7, RFC 9053 2.1 and 7) for the two algorithms
// the portal accepts, and signature verification with them through OpenSSL's libcrypto. Pure; any
// thread: each call owns its OpenSSL handles. Internal to crypto/webauthn/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx::crypto::webauthn {

enum class CoseAlgorithm : std::uint8_t {
    es256,   // alg -7: ECDSA over P-256 with SHA-256 (kty 2 EC2, crv 1)
    eddsa,   // alg -8: Ed25519 (kty 1 OKP, crv 6)
};

struct CoseKey {
    CoseAlgorithm algorithm = CoseAlgorithm::es256;
    // ES256: the uncompressed point 0x04 || x || y (65 bytes); EdDSA: the 32-byte public key.
    std::array<std::uint8_t, 65> raw{};
    std::size_t raw_bytes = 0;
};

// `cose` must be exactly one CBOR map and nothing after it. WebAuthn (L2 6.5.1) says the key holds
// alg and the parameters its kty requires and no optional ones, so any other label is malformed;
// a kty/alg/crv other than the two above is unsupported_key; coordinates of the wrong size or a
// P-256 point not on the curve are malformed.
Result<CoseKey> parse_cose_key(std::span<const std::uint8_t> cose);

// Verifies `signature` over `message`: ES256 takes a DER ECDSA signature (OpenSSL refuses one that
// is not strict DER), EdDSA the raw 64 bytes. bad_signature for any failure.
Result<void> verify_signature(const CoseKey& key, std::span<const std::uint8_t> message,
                              std::span<const std::uint8_t> signature);

}  // namespace vmx::crypto::webauthn
