// Authenticator data with exact bounds (see authenticator_data.h). Each part is taken from the
// front of what is left; the CBOR decoder says where a COSE key or an extensions map ends.
#include "crypto/webauthn/authenticator_data.h"

#include "crypto/webauthn/cbor.h"
#include "crypto/webauthn/errc.h"

namespace vmx::crypto::webauthn {
namespace {

constexpr std::size_t fixed_bytes = rp_id_hash_bytes + 1 + 4;   // rpIdHash, flags, signCount
constexpr std::size_t credential_id_length_bytes = 2;

std::uint32_t big_endian(std::span<const std::uint8_t> bytes) {
    std::uint32_t v = 0;
    for (const std::uint8_t b : bytes) v = (v << 8) | b;
    return v;
}

// One CBOR map at the front of `rest`; its length.
Result<std::size_t> map_length(std::span<const std::uint8_t> rest) {
    auto decoded = cbor::decode(rest);
    if (!decoded) return fail(decoded.error());
    if (decoded->value.kind != cbor::Kind::map) return fail(WebauthnErrc::malformed);
    return decoded->bytes_used;
}

// L2 6.5.1: aaguid (16), credentialIdLength (2, big-endian), credentialId, credentialPublicKey.
// `rest` is advanced past what was read.
Result<AttestedCredential> attested_credential(std::span<const std::uint8_t>& rest, const Limits& limits) {
    if (rest.size() < aaguid_bytes + credential_id_length_bytes) return fail(WebauthnErrc::malformed);
    AttestedCredential c;
    c.aaguid = rest.first(aaguid_bytes);
    const std::size_t id_bytes = big_endian(rest.subspan(aaguid_bytes, credential_id_length_bytes));
    rest = rest.subspan(aaguid_bytes + credential_id_length_bytes);
    if (id_bytes > limits.credential_id_bytes_max) return fail(WebauthnErrc::too_large);
    if (id_bytes == 0 || id_bytes > rest.size()) return fail(WebauthnErrc::malformed);
    c.id = rest.first(id_bytes);
    rest = rest.subspan(id_bytes);
    auto key_bytes = map_length(rest);
    if (!key_bytes) return fail(key_bytes.error());
    if (*key_bytes > limits.public_key_bytes_max) return fail(WebauthnErrc::too_large);
    c.public_key = rest.first(*key_bytes);
    rest = rest.subspan(*key_bytes);
    return c;
}

}  // namespace

Result<AuthenticatorData> parse_authenticator_data(std::span<const std::uint8_t> bytes, const Limits& limits) {
    if (bytes.size() > limits.authenticator_data_bytes_max) return fail(WebauthnErrc::too_large);
    if (bytes.size() < fixed_bytes) return fail(WebauthnErrc::malformed);
    AuthenticatorData data;
    data.rp_id_hash = bytes.first(rp_id_hash_bytes);
    data.flags = bytes[rp_id_hash_bytes];
    data.sign_count = big_endian(bytes.subspan(rp_id_hash_bytes + 1, 4));
    std::span<const std::uint8_t> rest = bytes.subspan(fixed_bytes);
    if ((data.flags & flag_at) != 0) {
        auto credential = attested_credential(rest, limits);
        if (!credential) return fail(credential.error());
        data.credential = *credential;
    }
    if ((data.flags & flag_ed) != 0) {
        auto extension_bytes = map_length(rest);
        if (!extension_bytes) return fail(extension_bytes.error());
        data.extensions = rest.first(*extension_bytes);
        rest = rest.subspan(*extension_bytes);
    }
    if (!rest.empty()) return fail(WebauthnErrc::malformed);
    return data;
}

}  // namespace vmx::crypto::webauthn
