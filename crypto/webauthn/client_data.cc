// clientDataJSON through nlohmann/json (see client_data.h), parsed without exceptions: the members
// we read are plain strings, but JSON around them can be anything a browser writes (escapes, nested
// members, keys added to break naive matching), and a full, tested parser is safer than a small
// one of ours. The input is bounded by the caller (4 KiB by default), which bounds the tree too.
// The challenge is compared in constant time, the other members are public.
#include "crypto/webauthn/client_data.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>
#include <string>

#include "crypto/webauthn/errc.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx::crypto::webauthn {
namespace {

// The member as a string, or nullptr if it is absent or of another type.
const std::string* string_member(const nlohmann::json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || !it->is_string()) return nullptr;
    return it->get_ptr<const std::string*>();
}

bool same_challenge(const std::string& received, std::span<const std::uint8_t> expected) {
    if (expected.size() < challenge_bytes_min) return false;
    const std::string wanted = base64url(expected);
    // The lengths follow from the expected challenge's length, which is no secret.
    return received.size() == wanted.size() && CRYPTO_memcmp(received.data(), wanted.data(), wanted.size()) == 0;
}

}  // namespace

Result<void> check_client_data(std::span<const std::uint8_t> json, Ceremony ceremony,
                               std::span<const std::uint8_t> expected_challenge, std::string_view origin) {
    const auto object = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
    if (object.is_discarded() || !object.is_object()) return fail(WebauthnErrc::malformed);
    const std::string* type = string_member(object, "type");
    const std::string* challenge = string_member(object, "challenge");
    const std::string* client_origin = string_member(object, "origin");
    const auto cross_origin = object.find("crossOrigin");
    const bool cross_origin_present = cross_origin != object.end();
    if (type == nullptr || challenge == nullptr || client_origin == nullptr ||
        (cross_origin_present && !cross_origin->is_boolean()))
        return fail(WebauthnErrc::malformed);
    if (*type != (ceremony == Ceremony::create ? "webauthn.create" : "webauthn.get"))
        return fail(WebauthnErrc::wrong_type);
    if (!same_challenge(*challenge, expected_challenge)) return fail(WebauthnErrc::wrong_challenge);
    // An iframe on another site may not register or sign in for us: crossOrigin must not be true.
    if (origin.empty() || *client_origin != origin || (cross_origin_present && cross_origin->get<bool>()))
        return fail(WebauthnErrc::wrong_origin);
    return {};
}

}  // namespace vmx::crypto::webauthn
