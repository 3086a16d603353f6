// The user-scoped socket's command table (see portal_commands.h): each row says which sessions may
// use the command and either the admin command it runs for the session's user, or its own handler.
#include "appliance/admin/portal_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <span>

#include "appliance/admin/command_helpers.h"
#include "appliance/admin/command_registry.h"
#include "appliance/admin/portal_export.h"
#include "appliance/admin/portal_keys.h"
#include "appliance/admin/portal_signin.h"
#include "appliance/admin/portal_tls.h"
#include "appliance/common/json_text.h"
#include "appliance/directory/account.h"
#include "appliance/directory/directory_view.h"

namespace vmx {
namespace {

using PortalHandler = void (*)(PortalCall&);

// A field the portal may pass on to the admin command (the address never is: it comes from the session).
struct Passed {
    std::string_view from;  // the portal request's field
    std::string_view to;    // the admin command's field
};

struct PortalRow {
    std::string_view command;
    PortalStage stage;                  // the least a session must have reached
    std::string_view admin_command;     // run for the session's user; empty: `handler`
    std::span<const Passed> passed{};
    bool json = false;                  // ask the admin command for JSON
    std::span<const std::string_view> flags{};  // fields set to "1" on the admin request
    PortalHandler handler = nullptr;
    // Whether a closed account's session (signed in to undo the closure) may use it.
    bool while_closed = false;
    // Whether the admin command goes to the audit log, as the admin's do. A user reading their
    // own history, app password names or trash is not an administrative act (and /security would
    // write an entry per page view); every change, and the export (data leaving), is.
    bool audited = true;
};

constexpr Passed kLabel[] = {{"label", "label"}};
constexpr Passed kMessage[] = {{"id", "id"}};
constexpr std::string_view kTrash[] = {"trash"};

void whoami(PortalCall& call);
void sessions(PortalCall& call);
void end_session(PortalCall& call);
void logout(PortalCall& call);
void logout_everywhere(PortalCall& call);

constexpr PortalRow kRows[] = {
    {"second-factor", PortalStage::second_factor, "", {}, false, {}, portal_second_factor, true},
    {"logout", PortalStage::second_factor, "", {}, false, {}, logout, true},
    {"whoami", PortalStage::second_factor, "", {}, false, {}, whoami, true},
    {"reopen", PortalStage::full, "", {}, false, {}, portal_reopen, true},
    {"totp-begin", PortalStage::enrol, "", {}, false, {}, portal_totp_begin},
    {"totp-confirm", PortalStage::enrol, "", {}, false, {}, portal_totp_confirm},
    {"totp-disable", PortalStage::full, "", {}, false, {}, portal_totp_disable},
    {"keys", PortalStage::enrol, "", {}, false, {}, portal_keys},
    {"key-register-begin", PortalStage::enrol, "", {}, false, {}, portal_key_register_begin},
    {"key-register-finish", PortalStage::enrol, "", {}, false, {}, portal_key_register_finish},
    {"key-remove", PortalStage::full, "", {}, false, {}, portal_key_remove},
    {"key-login-begin", PortalStage::second_factor, "", {}, false, {}, portal_key_login_begin, true},
    {"key-login-finish", PortalStage::second_factor, "", {}, false, {}, portal_key_login_finish, true},
    {"passwd", PortalStage::full, "", {}, false, {}, portal_passwd},
    {"close", PortalStage::full, "", {}, false, {}, portal_close},
    {"sessions", PortalStage::full, "", {}, false, {}, sessions},
    {"end-session", PortalStage::full, "", {}, false, {}, end_session},
    {"logout-everywhere", PortalStage::full, "", {}, false, {}, logout_everywhere},
    {"history", PortalStage::full, "user logins", {}, true, {}, nullptr, false},
    {"app-passwords", PortalStage::full, "user app-password list", {}, true, {}, nullptr, false},
    {"app-password-add", PortalStage::full, "user app-password add", kLabel},
    {"app-password-revoke", PortalStage::full, "user app-password revoke", kLabel},
    {"trash", PortalStage::full, "user mailbox", {}, true, kTrash, nullptr, false},
    {"restore", PortalStage::full, "user restore", kMessage},
    {"export-prepare", PortalStage::full, "", {}, false, {}, portal_export_prepare},
    {"export-status", PortalStage::full, "", {}, false, {}, portal_export_status},
    {"export-download", PortalStage::full, "", {}, false, {}, portal_export_download},
    {"export-discard", PortalStage::full, "", {}, false, {}, portal_export_discard},
};

const PortalRow* find_row(std::string_view command) {
    for (const PortalRow& row : kRows)
        if (row.command == command) return &row;
    return nullptr;
}

// The admin command for the session's user: the address from the session, only the row's fields.
void run_as_admin(PortalCall& call, const PortalRow& row) {
    AdminRequest request;
    request.command = std::string(row.admin_command);
    request.json = row.json;
    request.fields.emplace_back("address", call.user.address);
    for (const Passed& p : row.passed)
        if (auto v = call.request.field(p.from)) request.fields.emplace_back(std::string(p.to), std::string(*v));
    for (std::string_view flag : row.flags)
        if (call.request.field(flag) == "1") request.fields.emplace_back(std::string(flag), "1");
    const CommandHandler* handler = find_handler(request.command);
    if (!row.audited && handler != nullptr && handler->run != nullptr) {
        call.context.admin.peer_uid = call.peer.uid;
        return call.respond(handler->run(call.context.admin, request));
    }
    run_admin_command(call.context.admin, request, call.peer, std::move(call.respond));
}

std::string_view stage_name(PortalStage stage) {
    switch (stage) {
        case PortalStage::second_factor: return "second_factor";
        case PortalStage::enrol: return "enrol";
        case PortalStage::full: return "full";
    }
    return "none";
}

void whoami(PortalCall& call) {
    auto view = DirectoryView::open(call.context.admin.directory, call.context.admin.keys.snapshot());
    if (!view) return call.respond(admin::error_reply("directory", view.error()));
    auto org = view->org(call.user.org_id);
    if (!org) return call.respond(admin::error_reply("directory", org.error()));
    call.respond(admin::ok(fmt::format(
        R"({{"address":{},"state":{},"closed":{},"purge_days":{},"stage":{},"plan":{},"totp":{},"keys":{},"mfa_available":{},"mfa_required":{},"session":{},"ends":{},"session_max_s":{}}})",
        json_string(call.user.address), json_string(name_of(call.user.state)),
        call.user.closed_unix == 0 ? "null" : json_string(admin::format_time(call.user.closed_unix)),
        call.context.admin.closure_purge_days, json_string(stage_name(call.session->stage)), json_string(name_of(org->plan)),
        call.user.totp_secret.empty() ? "false" : "true", call.user.security_keys.size(), org->plan == crypto::Plan::starter ? "false" : "true",
        org->policy.require_mfa ? "true" : "false", call.session->id, json_string(admin::format_time(call.session->ends_unix)),
        org->policy.session_max_s)));
}

// Every live session of the user: mail clients on the shards, and the portal's own.
void sessions(PortalCall& call) {
    std::string out;
    const auto add = [&out](const std::string& item) { out += (out.empty() ? "" : ",") + item; };
    if (const SessionRegistry* live = call.context.admin.sessions)
        for (const SessionInfo& s : live->of_user(call.user.id))
            add(fmt::format(R"({{"kind":"mail","id":"{}-{}","protocol":{},"client_ip":{},"tls":{},"started":{},"current":false}})",
                            s.shard, s.session_id, json_string(s.protocol), json_string(s.client_ip),
                            json_string(s.tls_version), json_string(admin::format_time(s.started_unix))));
    for (const PortalSession& s : call.context.sessions.of_user(call.user.id))
        add(fmt::format(R"({{"kind":"portal","id":"p{}","protocol":"portal","client_ip":{},"tls":"","started":{},"current":{}}})",
                        s.id, json_string(s.client_ip), json_string(admin::format_time(s.started_unix)),
                        s.id == call.session->id ? "true" : "false"));
    call.respond(admin::ok("[" + out + "]\n"));
}

// A decimal number that is the whole of `text`.
std::optional<std::uint64_t> whole_number(std::string_view text) {
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

// "log out this device": a portal session ("p7") or a mail client's ("SHARD-SESSION"), the user's only.
void end_session(PortalCall& call) {
    const std::string_view id = call.request.field("id").value_or("");
    if (id.starts_with('p')) {
        auto portal_id = whole_number(id.substr(1));
        if (!portal_id || !call.context.sessions.close_id(call.user.id, *portal_id))
            return call.respond(admin::refused("no such session"));
        return call.respond(admin::ok(R"({"ended":true})"));
    }
    const std::size_t dash = id.find('-');
    auto shard = whole_number(id.substr(0, dash));
    auto session = dash == std::string_view::npos ? std::nullopt : whole_number(id.substr(dash + 1));
    if (!shard || !session || *shard > UINT32_MAX || call.context.admin.shards == nullptr ||
        call.context.admin.sessions == nullptr ||
        !call.context.admin.sessions->find(call.user.id, static_cast<std::uint32_t>(*shard), *session))
        return call.respond(admin::refused("no such session"));
    call.context.admin.shards->end_session(static_cast<std::uint32_t>(*shard), call.user.id, *session);
    call.respond(admin::ok(R"({"ended":true})"));
}

void logout(PortalCall& call) {
    call.context.sessions.close(call.token);
    call.respond(admin::ok(R"({"ended":true})"));
}

// Every session of every protocol, this one too: the admin's `user logout` (the token generation moves,
// so every token the user holds is void), then the portal's own sessions.
void logout_everywhere(PortalCall& call) {
    AdminRequest request;
    request.command = "user logout";
    request.fields.emplace_back("address", call.user.address);
    const std::uint64_t user_id = call.user.id;
    PortalSessions& portal = call.context.sessions;
    run_admin_command(call.context.admin, request, call.peer,
                      [&portal, user_id, respond = std::move(call.respond)](AdminReply reply) {
                          if (reply.status == AdminStatus::ok) portal.close_user(user_id);
                          respond(reply.status == AdminStatus::ok ? admin::ok(R"({"ended":true})") : std::move(reply));
                      });
}

}  // namespace

bool portal_peer_permitted(const AdminPeer& peer, uid_t portal_uid) { return peer.uid == 0 || peer.uid == portal_uid; }

void run_portal_command(PortalContext& context, const AdminRequest& request, const AdminPeer& peer,
                        AdminResponder respond) {
    if (request.command == "login") return portal_login(context, request, peer, std::move(respond));
    // The portal process's own needs, no user's: answers for the CA, and the certificates it serves.
    if (request.command == "acme-challenge") return respond(portal_acme_challenge(context, request));
    if (request.command == "tls-certificates") return respond(portal_tls_certificates(context, request));
    const PortalRow* row = find_row(request.command);
    if (row == nullptr) return respond(admin::refused("unknown command"));
    const std::string token(request.field("token").value_or(""));
    PortalSession* session = context.sessions.find(token, context.admin.now_unix());
    if (session == nullptr) return respond({AdminStatus::forbidden, "signed out"});
    // The user as stored now: a remote logout, a disable or a closure since sign-in ends the session.
    // The read transaction ends here, before a handler writes.
    Result<User> user = fail(DirectoryErrc::unknown_user);
    {
        auto view = DirectoryView::open(context.admin.directory, context.admin.keys.snapshot());
        if (!view) return respond(admin::error_reply("directory", view.error()));
        user = view->user(session->user_id);
    }
    if (!user && !no_such_account(user.error())) return respond(admin::error_reply("directory", user.error()));
    const bool closed = user && user->state == UserState::closed && !user->purging;
    if (!user || user->token_generation != session->token_generation || (user->state != UserState::active && !closed)) {
        context.sessions.close(token);
        return respond({AdminStatus::forbidden, "signed out"});
    }
    if (closed && !row->while_closed) return respond(admin::refused("account closed"));
    if (static_cast<int>(session->stage) < static_cast<int>(row->stage))
        return respond({AdminStatus::forbidden, "not signed in"});
    PortalCall call{context, request, peer, std::move(respond), token, session, std::move(*user)};
    if (row->handler != nullptr) return row->handler(call);
    run_as_admin(call, *row);
}

}  // namespace vmx
