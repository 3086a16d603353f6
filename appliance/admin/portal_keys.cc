// Security keys and passkeys on the user-scoped socket (see portal_keys.h).
#include "appliance/admin/portal_keys.h"

#include <fmt/format.h>

#include <algorithm>

#include "appliance/admin/command_helpers.h"
#include "appliance/auth/login_recorder.h"
#include "appliance/common/json_text.h"
#include "core/patterns.h"
#include "crypto/random.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx {
namespace {

constexpr std::size_t challenge_bytes = 32;
constexpr std::int64_t challenge_s = 300;

std::string field(const PortalCall& call, std::string_view name) {
    return std::string(call.request.field(name).value_or(""));
}

// A new challenge in the session, for this relying party; its base64url form, or empty on failure.
std::string new_challenge(PortalCall& call, const std::string& rp_id) {
    std::vector<std::uint8_t> challenge(challenge_bytes);
    if (!crypto::random_bytes(challenge)) return {};
    call.session->challenge = challenge;
    call.session->challenge_rp_id = rp_id;
    call.session->challenge_ends_unix = call.context.admin.now_unix() + challenge_s;
    return crypto::webauthn::base64url(challenge);
}

// The session's challenge, taken (one use), if it is fresh and was made for `rp_id`.
std::optional<std::vector<std::uint8_t>> take_challenge(PortalCall& call, std::string_view rp_id) {
    PortalSession& s = *call.session;
    std::vector<std::uint8_t> challenge = std::move(s.challenge);
    s.challenge.clear();
    const bool fresh = !challenge.empty() && s.challenge_rp_id == rp_id && call.context.admin.now_unix() < s.challenge_ends_unix;
    s.challenge_rp_id.clear();
    if (!fresh) return std::nullopt;
    return challenge;
}

std::optional<std::vector<std::uint8_t>> decoded(const PortalCall& call, std::string_view name) {
    return crypto::webauthn::base64url_decode(field(call, name));
}

// The relying party id the portal names: a host name (WebAuthn refuses IP addresses).
bool rp_id_ok(std::string_view rp_id) { return !rp_id.empty() && matches(Pattern::domain, rp_id); }

crypto::webauthn::Relying relying_of(const std::string& origin, const std::string& rp_id) {
    return {origin, rp_id, crypto::webauthn::UserVerification::preferred};
}

bool store_user(PortalCall& call, const User& user) {
    return call.context.admin.directory.update_user(*call.context.admin.keys.snapshot(), user).has_value();
}

void record_key_attempt(PortalCall& call, bool matched) {
    if (call.context.admin.logins == nullptr) return;
    LoginEvent e;
    e.user_id = call.user.id;
    e.time_unix = call.context.admin.now_unix();
    e.result = matched ? LoginResult::success : LoginResult::failure;
    e.reason = matched ? LoginFailure::none : LoginFailure::bad_credentials;
    e.method = LoginMethod::security_key;
    e.protocol = "portal";
    e.client_ip = call.session->client_ip;
    call.context.admin.logins->add(std::move(e));
}

}  // namespace

void portal_keys(PortalCall& call) {
    std::string out;
    for (const SecurityKey& k : call.user.security_keys)
        out += fmt::format(R"({}{{"label":{},"created":{},"last_used":{}}})", out.empty() ? "" : ",", json_string(k.label),
                           json_string(admin::format_time(k.created_unix)),
                           k.last_used_unix == 0 ? "null" : json_string(admin::format_time(k.last_used_unix)));
    call.respond(admin::ok("[" + out + "]\n"));
}

// What navigator.credentials.create() needs: the challenge, the user's handle (its id, never the
// address), the keys it already has (so one authenticator is not registered twice).
void portal_key_register_begin(PortalCall& call) {
    const std::string rp_id = field(call, "rp_id");
    if (!rp_id_ok(rp_id)) return call.respond(admin::refused("security keys need the portal's host name, not an address"));
    if (call.user.security_keys.size() >= security_keys_per_user_max) return call.respond(admin::refused("too many security keys"));
    const std::string challenge = new_challenge(call, rp_id);
    if (challenge.empty()) return call.respond({AdminStatus::failed, "random"});
    std::string exclude;
    for (const SecurityKey& k : call.user.security_keys)
        exclude += (exclude.empty() ? "" : ",") + json_string(crypto::webauthn::base64url(k.credential_id));
    std::array<std::uint8_t, 8> handle{};
    for (std::size_t i = 0; i < handle.size(); ++i) handle[i] = static_cast<std::uint8_t>(call.user.id >> (8 * i));
    call.respond(admin::ok(fmt::format(R"({{"challenge":"{}","rp_id":{},"user_id":"{}","user_name":{},"exclude":[{}]}})",
                                       challenge, json_string(rp_id), crypto::webauthn::base64url(handle),
                                       json_string(call.user.address), exclude)));
}

void portal_key_register_finish(PortalCall& call) {
    const std::string rp_id = field(call, "rp_id");
    const std::string label = field(call, "label");
    auto challenge = take_challenge(call, rp_id);
    if (!challenge) return call.respond(admin::refused("the registration expired; try again"));
    if (!matches(Pattern::label, label)) return call.respond(admin::refused("a name of letters, digits, '.', '_' or '-'"));
    for (const SecurityKey& k : call.user.security_keys)
        if (k.label == label) return call.respond(admin::refused("a key has that name already"));
    auto client_data = decoded(call, "client_data");
    auto attestation = decoded(call, "attestation");
    if (!client_data || !attestation) return call.respond(admin::refused("the browser's answer could not be read"));
    const std::string origin = field(call, "origin");
    auto credential = crypto::webauthn::verify_registration(*client_data, *attestation, *challenge, relying_of(origin, rp_id));
    if (!credential) return call.respond(admin::refused("the security key's answer did not verify"));
    if (credential->id.size() > security_key_id_bytes_max || credential->public_key.size() > security_key_public_bytes_max)
        return call.respond(admin::refused("this security key is not supported"));
    for (const SecurityKey& k : call.user.security_keys)
        if (k.credential_id == credential->id) return call.respond(admin::refused("this key is registered already"));
    User updated = call.user;
    updated.security_keys.push_back(
        {label, std::move(credential->id), std::move(credential->public_key), credential->sign_count, call.context.admin.now_unix(), 0});
    if (!store_user(call, updated)) return call.respond({AdminStatus::failed, "directory"});
    if (call.session->stage == PortalStage::enrol) call.session->stage = PortalStage::full;
    call.respond(admin::ok(R"({"registered":true})"));
}

void portal_key_remove(PortalCall& call) {
    const std::string label = field(call, "label");
    User updated = call.user;
    const auto before = updated.security_keys.size();
    std::erase_if(updated.security_keys, [&label](const SecurityKey& k) { return k.label == label; });
    if (updated.security_keys.size() == before) return call.respond(admin::refused("no such key"));
    if (!store_user(call, updated)) return call.respond({AdminStatus::failed, "directory"});
    call.respond(admin::ok(R"({"removed":true})"));
}

// What navigator.credentials.get() needs: the challenge and the user's registered key ids.
void portal_key_login_begin(PortalCall& call) {
    const std::string rp_id = field(call, "rp_id");
    if (call.session->stage != PortalStage::second_factor) return call.respond(admin::refused("not asked"));
    if (!rp_id_ok(rp_id) || call.user.security_keys.empty()) return call.respond(admin::refused("no security key"));
    const std::string challenge = new_challenge(call, rp_id);
    if (challenge.empty()) return call.respond({AdminStatus::failed, "random"});
    std::string allow;
    for (const SecurityKey& k : call.user.security_keys)
        allow += (allow.empty() ? "" : ",") + json_string(crypto::webauthn::base64url(k.credential_id));
    call.respond(admin::ok(fmt::format(R"({{"challenge":"{}","rp_id":{},"allow":[{}]}})", challenge, json_string(rp_id), allow)));
}

// The second factor by key: the signature over the challenge with a registered key, a counter that
// moved on (a cloned authenticator does not), then the session is signed in.
void portal_key_login_finish(PortalCall& call) {
    if (call.session->stage != PortalStage::second_factor) return call.respond(admin::refused("not asked"));
    const std::string rp_id = field(call, "rp_id");
    auto challenge = take_challenge(call, rp_id);
    auto id = decoded(call, "id");
    auto client_data = decoded(call, "client_data");
    auto authenticator_data = decoded(call, "authenticator_data");
    auto signature = decoded(call, "signature");
    const auto key = std::find_if(call.user.security_keys.begin(), call.user.security_keys.end(),
                                  [&id](const SecurityKey& k) { return id && k.credential_id == *id; });
    bool matched = false;
    std::uint32_t count = 0;
    if (challenge && client_data && authenticator_data && signature && key != call.user.security_keys.end()) {
        const crypto::webauthn::Credential credential{key->credential_id, key->public_key, key->sign_count};
        auto verified = crypto::webauthn::verify_assertion(credential, *client_data, *authenticator_data, *signature, *challenge,
                                                           relying_of(field(call, "origin"), rp_id));
        matched = verified.has_value();
        if (matched) count = *verified;
    }
    record_key_attempt(call, matched);
    if (!matched) {
        if (++call.session->factor_tries >= call.context.sessions.limits().second_factor_tries_max)
            call.context.sessions.close(call.token);
        return call.respond(admin::refused("the security key's answer did not verify"));
    }
    User updated = call.user;
    for (SecurityKey& k : updated.security_keys)
        if (k.credential_id == key->credential_id) {
            k.sign_count = count;
            k.last_used_unix = call.context.admin.now_unix();
        }
    if (!store_user(call, updated)) return call.respond({AdminStatus::failed, "directory"});
    call.session->stage = PortalStage::full;
    call.respond(admin::ok(R"({"stage":"full"})"));
}

}  // namespace vmx
