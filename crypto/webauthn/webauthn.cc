// WebAuthn registration and authentication (see webauthn.h): the ceremonies' steps in the order of
// L2 7.1 and 7.2, over the parts in client_data, authenticator_data and cose_key. SHA-256 comes
// from OpenSSL's libcrypto, which also verifies the signatures; no wolfSSL header here (they
// clash). Any thread; nothing outlives a call.
#include "crypto/webauthn/webauthn.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "crypto/radix_text.h"
#include "crypto/webauthn/authenticator_data.h"
#include "crypto/webauthn/cbor.h"
#include "crypto/webauthn/client_data.h"
#include "crypto/webauthn/cose_key.h"

namespace vmx::crypto::webauthn {
namespace {

using Digest = std::array<std::uint8_t, 32>;

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

Result<Digest> sha256(std::span<const std::uint8_t> bytes) {
    Digest out{};
    unsigned int n = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &n, EVP_sha256(), nullptr) != 1 || n != out.size()) {
        ERR_clear_error();
        return fail(WebauthnErrc::malformed);   // only if libcrypto cannot allocate
    }
    return out;
}

// L2 6.5.4: the attestation object is the map {fmt: text, attStmt: map, authData: bytes}, the
// whole input and nothing else. The statement is parsed (so it is well-formed and within the
// limits) but not verified: see verify_registration in webauthn.h.
Result<std::span<const std::uint8_t>> attested_authenticator_data(std::span<const std::uint8_t> attestation) {
    auto decoded = cbor::decode(attestation);
    if (!decoded) return fail(decoded.error());
    const cbor::Value& object = decoded->value;
    if (decoded->bytes_used != attestation.size() || object.pairs() != 3) return fail(WebauthnErrc::malformed);
    const cbor::Value* fmt = object.find("fmt");
    const cbor::Value* statement = object.find("attStmt");
    const cbor::Value* data = object.find("authData");
    if (fmt == nullptr || fmt->kind != cbor::Kind::text || statement == nullptr ||
        statement->kind != cbor::Kind::map || data == nullptr || data->kind != cbor::Kind::bytes)
        return fail(WebauthnErrc::malformed);
    return data->bytes;
}

// L2 7.1 and 7.2 alike: rpIdHash, then UP, then UV when required.
Result<void> check_rp_and_user(const AuthenticatorData& data, const Relying& relying) {
    if (relying.rp_id.empty()) return fail(WebauthnErrc::wrong_rp);
    const auto rp_id = std::span(reinterpret_cast<const std::uint8_t*>(relying.rp_id.data()), relying.rp_id.size());
    auto expected = sha256(rp_id);
    if (!expected) return fail(expected.error());
    if (!std::equal(data.rp_id_hash.begin(), data.rp_id_hash.end(), expected->begin(), expected->end()))
        return fail(WebauthnErrc::wrong_rp);
    if ((data.flags & flag_up) == 0) return fail(WebauthnErrc::user_not_present);
    if (relying.uv == UserVerification::required && (data.flags & flag_uv) == 0)
        return fail(WebauthnErrc::user_not_verified);
    return {};
}

// L2 7.2: the signature covers authenticatorData || SHA-256(clientDataJSON).
Result<void> check_signature(const CoseKey& key, std::span<const std::uint8_t> authenticator_data,
                             std::span<const std::uint8_t> client_data_json, std::span<const std::uint8_t> signature) {
    auto client_data_hash = sha256(client_data_json);
    if (!client_data_hash) return fail(client_data_hash.error());
    std::vector<std::uint8_t> message;
    message.reserve(authenticator_data.size() + client_data_hash->size());
    message.insert(message.end(), authenticator_data.begin(), authenticator_data.end());
    message.insert(message.end(), client_data_hash->begin(), client_data_hash->end());
    return verify_signature(key, message, signature);
}

// L2 7.2 and 6.1.1: a counter that does not grow means two authenticators hold the key. Both
// zero is an authenticator that keeps no counter (many passkey providers), which is allowed.
Result<std::uint32_t> check_counter(std::uint32_t stored, std::uint32_t received) {
    if ((stored != 0 || received != 0) && received <= stored) return fail(WebauthnErrc::counter_regressed);
    return received;
}

}  // namespace

Result<Credential> verify_registration(std::span<const std::uint8_t> client_data_json,
                                       std::span<const std::uint8_t> attestation_object,
                                       std::span<const std::uint8_t> expected_challenge, const Relying& relying,
                                       const Limits& limits) {
    if (client_data_json.size() > limits.client_data_bytes_max ||
        attestation_object.size() > limits.attestation_bytes_max)
        return fail(WebauthnErrc::too_large);
    if (auto ok = check_client_data(client_data_json, Ceremony::create, expected_challenge, relying.origin); !ok)
        return fail(ok.error());
    auto authenticator_data = attested_authenticator_data(attestation_object);
    if (!authenticator_data) return fail(authenticator_data.error());
    auto data = parse_authenticator_data(*authenticator_data, limits);
    if (!data) return fail(data.error());
    if (auto ok = check_rp_and_user(*data, relying); !ok) return fail(ok.error());
    if (!data->credential) return fail(WebauthnErrc::malformed);   // AT clear: nothing to register
    // The key's algorithm must be one we asked for in pubKeyCredParams: ES256 or EdDSA.
    if (auto key = parse_cose_key(data->credential->public_key); !key) return fail(key.error());
    Credential credential;
    credential.id.assign(data->credential->id.begin(), data->credential->id.end());
    credential.public_key.assign(data->credential->public_key.begin(), data->credential->public_key.end());
    credential.sign_count = data->sign_count;
    return credential;
}

Result<std::uint32_t> verify_assertion(const Credential& credential, std::span<const std::uint8_t> client_data_json,
                                       std::span<const std::uint8_t> authenticator_data,
                                       std::span<const std::uint8_t> signature,
                                       std::span<const std::uint8_t> expected_challenge, const Relying& relying,
                                       const Limits& limits) {
    if (client_data_json.size() > limits.client_data_bytes_max ||
        credential.public_key.size() > limits.public_key_bytes_max)
        return fail(WebauthnErrc::too_large);
    if (auto ok = check_client_data(client_data_json, Ceremony::get, expected_challenge, relying.origin); !ok)
        return fail(ok.error());
    auto data = parse_authenticator_data(authenticator_data, limits);
    if (!data) return fail(data.error());
    // An assertion attests no new credential; AT set here is not authenticator data of a get.
    if (data->credential) return fail(WebauthnErrc::malformed);
    if (auto ok = check_rp_and_user(*data, relying); !ok) return fail(ok.error());
    auto key = parse_cose_key(credential.public_key);
    if (!key) return fail(key.error());
    if (auto ok = check_signature(*key, authenticator_data, client_data_json, signature); !ok) return fail(ok.error());
    return check_counter(credential.sign_count, data->sign_count);
}

std::string base64url(std::span<const std::uint8_t> bytes) { return radix_encode<6>(bytes, alphabet); }

std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;   // 6 bits cannot end a byte
    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const char c : text) {
        const int v = base64url_value(c);
        if (v < 0) return std::nullopt;   // '=' included: no padding
        acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xFFFF;   // at most 6 + 6 bits pending
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits));
        }
    }
    // The 2 or 4 bits left over must be zero, or two texts would decode to the same bytes.
    if ((acc & ((1U << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace vmx::crypto::webauthn
