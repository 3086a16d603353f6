// Authenticator data (WebAuthn L2 6.1): rpIdHash, flags, signCount, then attested credential data
// when AT is set and an extensions map when ED is set, and nothing else. Pure; any thread. The
// spans point into the parsed bytes. Internal to crypto/webauthn/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/result.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx::crypto::webauthn {

// L2 6.1 flag bits.
inline constexpr std::uint8_t flag_up = 0x01;   // user present
inline constexpr std::uint8_t flag_uv = 0x04;   // user verified
inline constexpr std::uint8_t flag_at = 0x40;   // attested credential data included
inline constexpr std::uint8_t flag_ed = 0x80;   // extension data included

inline constexpr std::size_t rp_id_hash_bytes = 32;
inline constexpr std::size_t aaguid_bytes = 16;

struct AttestedCredential {
    std::span<const std::uint8_t> aaguid;
    std::span<const std::uint8_t> id;           // 1 to Limits::credential_id_bytes_max bytes
    std::span<const std::uint8_t> public_key;   // exactly one CBOR map: the COSE_Key as encoded
};

struct AuthenticatorData {
    std::span<const std::uint8_t> rp_id_hash;
    std::uint8_t flags = 0;
    std::uint32_t sign_count = 0;
    std::optional<AttestedCredential> credential;   // present exactly when AT is set
    std::span<const std::uint8_t> extensions;       // one CBOR map when ED is set, else empty
};

// too_large: over Limits::authenticator_data_bytes_max, a credential ID over
// credential_id_bytes_max or a key over public_key_bytes_max. malformed: shorter than its fixed
// part, a length past the end, an empty credential ID, a key or extensions that are not one CBOR
// map, or any byte after the last part its flags announce (L2 6.5.1: the parts' lengths are
// determined by their encoding, so trailing bytes have no meaning).
Result<AuthenticatorData> parse_authenticator_data(std::span<const std::uint8_t> bytes, const Limits& limits);

}  // namespace vmx::crypto::webauthn
