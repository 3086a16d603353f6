// Error codes of WebAuthn verification (crypto/webauthn/), with their std::error_category. Each
// names the check that refused, so the portal can count refusals by kind without logging input.
#pragma once

#include <system_error>

namespace vmx::crypto::webauthn {

enum class WebauthnErrc {
    ok = 0,
    malformed = 1,           // bytes that do not parse: JSON, CBOR, authenticator data, base64url
    too_large = 2,           // an input, length or nesting over its limit
    wrong_type = 3,          // clientDataJSON.type is not the ceremony's
    wrong_challenge = 4,     // clientDataJSON.challenge is not the one this server issued
    wrong_origin = 5,        // clientDataJSON.origin is not ours, or crossOrigin is true
    wrong_rp = 6,            // rpIdHash is not SHA-256 of our RP ID
    user_not_present = 7,    // the UP flag is clear
    user_not_verified = 8,   // UV is required and the UV flag is clear
    unsupported_key = 9,     // a credential key other than ES256 (P-256) or EdDSA (Ed25519)
    bad_signature = 10,      // the assertion signature does not verify under the stored key
    counter_regressed = 11,  // the sign count did not grow: possibly a cloned authenticator
};

const std::error_category& webauthn_category() noexcept;

inline std::error_code make_error_code(WebauthnErrc e) noexcept { return {static_cast<int>(e), webauthn_category()}; }

}  // namespace vmx::crypto::webauthn

template <>
struct std::is_error_code_enum<vmx::crypto::webauthn::WebauthnErrc> : std::true_type {};
