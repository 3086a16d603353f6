// Server-side WebAuthn (Level 2) verification for the portal's security keys and passkeys:
// registration (7.1) and authentication (7.2). Pure: no I/O, no clock, no logging; any thread.
// The caller keeps the session state (the challenge it issued, good for one ceremony only; the
// credentials it stored) and decides what a refusal means; every refusal is a WebauthnErrc
// (crypto/webauthn/errc.h). Every input is bounded by Limits before it is parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/webauthn/errc.h"

namespace vmx::crypto::webauthn {

struct Limits {
    std::size_t client_data_bytes_max = 4096;
    std::size_t attestation_bytes_max = 16384;
    std::size_t authenticator_data_bytes_max = 4096;
    std::size_t credential_id_bytes_max = 1023;   // Level 3's cap; Level 2 set none
    std::size_t public_key_bytes_max = 512;       // the COSE_Key as encoded
};

// A challenge shorter than this is refused (wrong_challenge) whatever the client sent: L2 13.4.3
// asks for at least 16 random bytes, and an empty one would match an empty client challenge.
inline constexpr std::size_t challenge_bytes_min = 16;

enum class UserVerification : std::uint8_t { preferred, required };

struct Credential {
    std::vector<std::uint8_t> id;
    std::vector<std::uint8_t> public_key;   // the COSE_Key bytes as registered (ES256 or EdDSA)
    std::uint32_t sign_count = 0;
};

struct Relying {
    std::string_view origin;   // "https://host:port" exactly as the browser reports it
    std::string_view rp_id;    // "host"
    UserVerification uv = UserVerification::preferred;
};

// Registration (L2 7.1). clientDataJSON: type "webauthn.create", challenge equal to
// base64url(expected_challenge) without padding, origin equal to relying.origin, crossOrigin absent
// or false. attestationObject: the CBOR map {fmt, attStmt, authData} and nothing after it. We ask
// for attestation "none" and trust no authenticator vendor, so the attestation statement is not
// verified: any fmt is accepted and attStmt is only parsed (7.1's attestation steps are left out; what
// we register is the user's own key, vouched for by their signed-in session). authData: rpIdHash
// equal to SHA-256(rp_id), UP set, UV set when required, AT set, the attested credential data read
// with exact bounds, then extensions only if ED is set, then nothing. The key must be EC2 P-256 with
// alg -7 (ES256) or OKP Ed25519 with alg -8 (EdDSA), else unsupported_key. The caller still checks
// that the credential ID is not registered already, and stores the credential.
Result<Credential> verify_registration(std::span<const std::uint8_t> client_data_json,
                                       std::span<const std::uint8_t> attestation_object,
                                       std::span<const std::uint8_t> expected_challenge, const Relying& relying,
                                       const Limits& limits = {});

// Authentication (L2 7.2) with the credential the caller found under the assertion's credential ID
// (checking it belongs to the user, by allowCredentials or the userHandle, is the caller's part).
// clientDataJSON: type "webauthn.get", challenge and origin as above. authenticatorData: rpIdHash,
// UP (and UV if required), no attested credential data, extensions only if ED is set. The signature
// over authenticatorData || SHA-256(clientDataJSON) must verify under credential.public_key (ES256:
// a DER ECDSA signature; EdDSA: the raw 64 bytes). Sign count: if the stored or the new count is
// non-zero, the new one must be greater, else counter_regressed (a cloned authenticator, L2 6.1.1).
// Returns the new sign count, for the caller to store.
Result<std::uint32_t> verify_assertion(const Credential& credential, std::span<const std::uint8_t> client_data_json,
                                       std::span<const std::uint8_t> authenticator_data,
                                       std::span<const std::uint8_t> signature,
                                       std::span<const std::uint8_t> expected_challenge, const Relying& relying,
                                       const Limits& limits = {});

// RFC 4648 section 5 base64url without '=' padding (as WebAuthn writes challenges and IDs).
std::string base64url(std::span<const std::uint8_t> bytes);
// Strict: only the base64url alphabet, no padding (a '=' is refused), no length of 4n+1, and the
// unused low bits of the last character zero, so each byte string has exactly one text.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

}  // namespace vmx::crypto::webauthn
