// The portal's sign-in and credential commands (see portal_signin.h).
#include "appliance/admin/portal_signin.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <memory>

#include "appliance/admin/command_helpers.h"
#include "appliance/auth/login_flow.h"
#include "appliance/auth/login_recorder.h"
#include "appliance/common/json_text.h"
#include "appliance/common/message_kinds.h"
#include "appliance/directory/directory_view.h"
#include "crypto/secret_bytes.h"
#include "crypto/totp.h"

namespace vmx {
namespace {

constexpr std::size_t login_name_bytes_max = 320;

crypto::SecretBytes secret_of(std::string_view text) {
    return crypto::SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

// The password through one shard's login flow. The shard is chosen by the name, so one name's
// attempts meet one throttle; the shard holds a failure's answer for the throttle's delay.
void shard_login(PortalContext& context, LoginRequest request, std::function<void(LoginVerdict)> done) {
    AdminShards* shards = context.admin.shards;
    if (shards == nullptr || shards->count() == 0) return done(LoginVerdict{});
    const auto shard = static_cast<std::uint32_t>(std::hash<std::string>{}(lower_ascii(request.name)) % shards->count());
    auto call = std::make_unique<PortalLoginCall>();
    call->request = std::move(request);
    Message m;
    m.kind = message_kind(AppMessage::portal_login);
    m.payload = std::move(call);
    auto shared = std::make_shared<std::function<void(LoginVerdict)>>(std::move(done));
    const bool sent = shards->calls()
                          .call(shard, std::move(m),
                                [shared](Message& reply) {
                                    auto* answer = dynamic_cast<PortalLoginAnswer*>(reply.payload.get());
                                    (*shared)(answer != nullptr ? std::move(answer->verdict) : LoginVerdict{});
                                })
                          .has_value();
    if (!sent) (*shared)(LoginVerdict{});
}

AdminReply refusal_of(LoginOutcome outcome) {
    switch (outcome) {
        case LoginOutcome::ok: break;
        case LoginOutcome::bad_credentials: return admin::refused("bad credentials");
        case LoginOutcome::disabled: return admin::refused("account disabled");
        case LoginOutcome::policy_denied: return admin::refused("not allowed from this network");
        case LoginOutcome::temp_failure: break;
    }
    return {AdminStatus::failed, "try again later"};
}

// A second-factor attempt goes to the user's history like a login.
void record_factor(PortalContext& context, const PortalCall& call, bool matched) {
    if (context.admin.logins == nullptr) return;
    LoginEvent e;
    e.user_id = call.user.id;
    e.time_unix = context.admin.now_unix();
    e.result = matched ? LoginResult::success : LoginResult::failure;
    e.reason = matched ? LoginFailure::none : LoginFailure::bad_credentials;
    e.method = LoginMethod::totp;
    e.protocol = "portal";
    e.client_ip = call.session->client_ip;
    context.admin.logins->add(std::move(e));
}

// Checks a code against `secret` and, when good, stores its step as the user's last (a code is good
// once); with `enrol`, the secret is stored with it.
bool take_code(PortalCall& call, std::span<const std::uint8_t> secret, std::uint64_t last_step, bool enrol) {
    const std::string code(call.request.field("code").value_or(""));
    const auto now = static_cast<std::uint64_t>(call.context.admin.now_unix());
    const crypto::TotpCheck check = crypto::totp_verify(secret, code, now, last_step);
    if (!check.ok) return false;
    User updated = call.user;
    if (enrol) updated.totp_secret.assign(secret.begin(), secret.end());
    updated.totp_last_step = check.step;
    return call.context.admin.directory.update_user(*call.context.admin.keys.snapshot(), updated).has_value();
}

// The password again, for a change that needs it (password change, closure): a sign-in attempt.
void check_password(PortalCall& call, std::string_view password, std::function<void(LoginVerdict)> done) {
    LoginRequest login;
    login.kind = LoginKind::portal;
    login.name = call.user.address;
    login.secret = secret_of(password);
    login.protocol = "portal";
    login.client_ip = call.session->client_ip;
    shard_login(call.context, std::move(login), std::move(done));
}

}  // namespace

void portal_login(PortalContext& context, const AdminRequest& request, const AdminPeer&, AdminResponder respond) {
    const std::string name(request.field("username").value_or(""));
    if (name.empty() || name.size() > login_name_bytes_max || request.secret.empty())
        return respond(admin::refused("bad credentials"));
    LoginRequest login;
    login.kind = LoginKind::portal;
    login.name = name;
    login.secret = secret_of(request.secret);
    login.protocol = "portal";
    login.client_ip = std::string(request.field("client_ip").value_or(""));
    login.tls_version = std::string(request.field("tls").value_or(""));
    const std::string client_ip = login.client_ip;
    // The user's own choice of session length (seconds), within every ceiling; 0: the longest allowed.
    std::uint32_t asked_s = 0;
    if (auto asked = request.field("session_s")) {
        std::uint64_t value = 0;
        const auto [end, error] = std::from_chars(asked->data(), asked->data() + asked->size(), value);
        if (error == std::errc() && end == asked->data() + asked->size() && value >= 300)
            asked_s = static_cast<std::uint32_t>(std::min<std::uint64_t>(value, UINT32_MAX));
    }
    shard_login(context, std::move(login), [&context, client_ip, asked_s, respond = std::move(respond)](LoginVerdict v) {
        if (v.outcome != LoginOutcome::ok || !v.account) return respond(refusal_of(v.outcome));
        const User& user = v.account->user;
        const OrgPolicy& policy = v.account->org.policy;
        const bool second_factor = !user.totp_secret.empty() || !user.security_keys.empty();
        const PortalStage stage = second_factor             ? PortalStage::second_factor
                                  : policy.require_mfa && user.state != UserState::closed ? PortalStage::enrol
                                                            : PortalStage::full;
        std::uint32_t lifetime_s = context.session_max_s;
        if (policy.session_max_s != 0) lifetime_s = std::min(lifetime_s, policy.session_max_s);
        if (asked_s != 0) lifetime_s = std::min(lifetime_s, asked_s);
        auto token = context.sessions.open(user.id, user.token_generation, stage, client_ip, context.admin.now_unix(),
                                           lifetime_s);
        if (!token) return respond({AdminStatus::failed, "try again later"});
        respond(admin::ok(fmt::format(R"({{"token":"{}","stage":"{}"}})", *token,
                                      stage == PortalStage::second_factor ? "second_factor"
                                      : stage == PortalStage::enrol       ? "enrol"
                                                                          : "full")));
    });
}

void portal_second_factor(PortalCall& call) {
    if (call.session->stage != PortalStage::second_factor) return call.respond(admin::refused("not asked"));
    const bool matched = take_code(call, call.user.totp_secret, call.user.totp_last_step, false);
    record_factor(call.context, call, matched);
    if (!matched) {
        // A few tries, then the password again: a code cannot be guessed through one sign-in.
        if (++call.session->factor_tries >= call.context.sessions.limits().second_factor_tries_max)
            call.context.sessions.close(call.token);
        return call.respond(admin::refused("bad code"));
    }
    call.session->stage = PortalStage::full;
    call.respond(admin::ok(R"({"stage":"full"})"));
}

// A new secret, held in the session until a code from it confirms it (so a scan that failed never
// locks the user out). Pro and Ultimate only.
void portal_totp_begin(PortalCall& call) {
    auto view = DirectoryView::open(call.context.admin.directory, call.context.admin.keys.snapshot());
    if (!view) return call.respond(admin::error_reply("directory", view.error()));
    auto org = view->org(call.user.org_id);
    if (!org) return call.respond(admin::error_reply("directory", org.error()));
    if (org->plan == crypto::Plan::starter) return call.respond(admin::refused("two-factor sign-in comes with Pro and Ultimate"));
    if (!call.user.totp_secret.empty()) return call.respond(admin::refused("already enrolled"));
    auto secret = crypto::totp_generate_secret();
    if (!secret) return call.respond(admin::error_reply("random", secret.error()));
    crypto::secure_wipe(call.session->pending_totp);
    call.session->pending_totp = std::move(*secret);
    const auto& s = call.session->pending_totp;
    call.respond(admin::ok(fmt::format(R"({{"secret":{},"uri":{}}})", json_string(crypto::base32_encode(s)),
                                       json_string(crypto::totp_provisioning_uri("vaultmx", call.user.address, s)))));
}

void portal_totp_confirm(PortalCall& call) {
    if (call.session->pending_totp.empty()) return call.respond(admin::refused("no enrolment in progress"));
    if (!take_code(call, call.session->pending_totp, 0, true)) return call.respond(admin::refused("bad code"));
    crypto::secure_wipe(call.session->pending_totp);
    call.session->pending_totp.clear();
    call.session->stage = PortalStage::full;
    call.respond(admin::ok(R"({"enrolled":true})"));
}

// Needs a current code, and is refused where the organisation requires a second factor.
void portal_totp_disable(PortalCall& call) {
    auto view = DirectoryView::open(call.context.admin.directory, call.context.admin.keys.snapshot());
    if (!view) return call.respond(admin::error_reply("directory", view.error()));
    auto org = view->org(call.user.org_id);
    if (!org) return call.respond(admin::error_reply("directory", org.error()));
    if (org->policy.require_mfa) return call.respond(admin::refused("your organisation requires two-factor sign-in"));
    if (call.user.totp_secret.empty()) return call.respond(admin::refused("not enrolled"));
    const bool matched = take_code(call, call.user.totp_secret, call.user.totp_last_step, false);
    if (!matched) return call.respond(admin::refused("bad code"));
    User updated = call.user;
    auto reread = view->user(call.user.id);  // take_code stored the step; keep it with the removal
    if (reread) updated = std::move(*reread);
    crypto::secure_wipe(updated.totp_secret);
    updated.totp_secret.clear();
    auto stored = call.context.admin.directory.update_user(*call.context.admin.keys.snapshot(), updated);
    if (!stored) return call.respond(admin::error_reply("directory", stored.error()));
    call.respond(admin::ok(R"({"enrolled":false})"));
}

void portal_passwd(PortalCall& call) {
    const std::string_view secret = call.request.secret;
    const std::size_t cut = secret.find('\n');
    if (cut == std::string_view::npos || cut == 0 || cut + 1 >= secret.size())
        return call.respond(admin::refused("both passwords are needed"));
    std::string new_password(secret.substr(cut + 1));
    AdminContext& admin = call.context.admin;
    const AdminPeer peer = call.peer;
    const std::string address = call.user.address;
    check_password(call, secret.substr(0, cut),
                   [&admin, peer, address, new_password, respond = std::move(call.respond)](const LoginVerdict& v) mutable {
                       if (v.outcome != LoginOutcome::ok) return respond(refusal_of(v.outcome));
                       AdminRequest change;
                       change.command = "user passwd";
                       change.fields.emplace_back("address", address);
                       change.secret = new_password;
                       crypto::secure_wipe(new_password.data(), new_password.size());
                       run_admin_command(admin, change, peer, [respond = std::move(respond)](AdminReply reply) {
                           respond(reply.status == AdminStatus::ok ? admin::ok(R"({"changed":true})") : std::move(reply));
                       });
                   });
}

void portal_close(PortalCall& call) {
    AdminContext& admin = call.context.admin;
    const AdminPeer peer = call.peer;
    const std::string address = call.user.address;
    check_password(call, call.request.secret, [&admin, peer, address, respond = std::move(call.respond)](const LoginVerdict& v) {
        if (v.outcome != LoginOutcome::ok) return respond(refusal_of(v.outcome));
        AdminRequest close;
        close.command = "user close";
        close.fields.emplace_back("address", address);
        run_admin_command(admin, close, peer, [&admin, respond](AdminReply reply) {
            if (reply.status != AdminStatus::ok) return respond(std::move(reply));
            respond(admin::ok(fmt::format(R"({{"closed":true,"purge_days":{}}})", admin.closure_purge_days)));
        });
    });
}

// The admin's `user reopen` for the session's own account (audited like it), during the closure's
// delay; the session then goes on with the account's new token generation.
void portal_reopen(PortalCall& call) {
    if (call.user.state != UserState::closed) return call.respond(admin::refused("the account is open"));
    AdminRequest reopen;
    reopen.command = "user reopen";
    reopen.fields.emplace_back("address", call.user.address);
    PortalContext& context = call.context;
    const std::string token = call.token;
    const std::uint64_t user_id = call.user.id;
    run_admin_command(context.admin, reopen, call.peer,
                      [&context, token, user_id, respond = std::move(call.respond)](AdminReply reply) {
                          if (reply.status != AdminStatus::ok) return respond(std::move(reply));
                          auto view = DirectoryView::open(context.admin.directory, context.admin.keys.snapshot());
                          auto user = view ? view->user(user_id) : Result<User>(fail(DirectoryErrc::unknown_user));
                          PortalSession* session = context.sessions.find(token, context.admin.now_unix());
                          if (user && session != nullptr) session->token_generation = user->token_generation;
                          respond(admin::ok(R"({"reopened":true})"));
                      });
}

}  // namespace vmx
