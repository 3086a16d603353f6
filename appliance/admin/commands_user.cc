// Admin commands on user accounts: add, password, list, disable/enable, log out, live sessions,
// login history. Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {
namespace {

AdminReply set_state(AdminContext& c, const AdminRequest& r, UserState state) {
    return change_login(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        if (u.state == UserState::closed) return refused(fmt::format("user {}: the account is closed", u.address));
        u.state = state;
        if (state == UserState::disabled) ++u.token_generation;
        msg = fmt::format("user {}: {}\n", u.address, name_of(state));
        return std::nullopt;
    });
}

std::string user_json(const User& u, std::string_view org) {
    return fmt::format(R"({{"id":{},"address":{},"org":{},"state":{},"quota_bytes":{},"app_passwords":{},"totp":{},"created":{}}})",
                       u.id, json_string(u.address), json_string(org), json_string(name_of(u.state)), u.quota_bytes,
                       u.app_passwords.size(), u.totp_secret.empty() ? "false" : "true",
                       json_string(format_time(u.created_unix)));
}

}  // namespace

namespace {

AdminReply add_user_with(AdminContext& c, const std::string& address, std::uint64_t quota, std::string hash) {
    const bool with_password = !hash.empty();
    auto user = c.directory.add_user(*c.keys.snapshot(), address, std::move(hash), quota, c.now_unix());
    if (!user) {
        const bool about_domain = user.error() == DirectoryErrc::unknown_domain;
        return error_reply(about_domain ? fmt::format("domain of {}", address) : fmt::format("user {}", address),
                           user.error());
    }
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto org = view->org(user->org_id);
    view->end();
    if (!org) return error_reply("directory", org.error());
    const KeyService::AccountScope account{user->id, scope_of(*org, user->id)};
    if (auto e = c.keys.ensure_accounts({&account, 1}, c.now_unix()); !e) return error_reply("keys", e.error());
    return ok(fmt::format("user {} added (organisation {}, quota {}, password {})\n", user->address, org->name,
                          quota ? std::to_string(quota) + " bytes" : std::string("none"),
                          with_password ? "set" : "not set"));
}

}  // namespace

// The password is hashed on the auth workers; the user is added when the hash is back.
void user_add(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const std::string address(required(r, "address"));
    std::uint64_t quota = 0;
    if (auto q = r.field("quota")) {
        auto parsed = parse_size(*q);
        if (!parsed) return respond(error_reply(fmt::format("--quota {}", *q), DirectoryErrc::invalid_quota));
        quota = *parsed;
    }
    if (r.secret.empty()) return respond(add_user_with(c, address, quota, {}));
    c.hasher.hash(r.secret, [&c, address, quota, respond = std::move(respond)](Result<std::string> hash) {
        if (!hash) return respond(hash_refusal(hash.error()));
        respond(add_user_with(c, address, quota, std::move(*hash)));
    });
}

void user_passwd(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const std::string address(required(r, "address"));
    if (r.secret.empty()) return respond(refused("password: none given (pipe it to --password-stdin)"));
    c.hasher.hash(r.secret, [&c, address, respond = std::move(respond)](Result<std::string> hash) {
        if (!hash) return respond(hash_refusal(hash.error()));
        respond(change_login(c, address, [&](User& u, std::string& msg) -> std::optional<AdminReply> {
            u.password_hash = std::move(*hash);
            msg = fmt::format("user {}: password changed\n", u.address);
            return std::nullopt;
        }));
    });
}

AdminReply user_disable(AdminContext& c, const AdminRequest& r) { return set_state(c, r, UserState::disabled); }
AdminReply user_enable(AdminContext& c, const AdminRequest& r) { return set_state(c, r, UserState::active); }

AdminReply user_logout(AdminContext& c, const AdminRequest& r) {
    std::uint64_t user_id = 0;
    AdminReply reply = change_login(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        ++u.token_generation;
        user_id = u.id;
        const std::size_t live = c.sessions ? c.sessions->of_user(u.id).size() : 0;
        msg = fmt::format("user {}: logged out everywhere ({} live session(s) ended, session tokens revoked)\n",
                          u.address, live);
        return std::nullopt;
    });
    if (reply.status == AdminStatus::ok && c.shards != nullptr) c.shards->logout_everywhere(user_id);
    return reply;
}

AdminReply user_sessions(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    std::string out;
    for (const SessionInfo& s : c.sessions ? c.sessions->of_user(user->id) : std::vector<SessionInfo>{}) {
        if (r.json)
            out += fmt::format(R"({}{{"shard":{},"session":{},"protocol":{},"client_ip":{},"tls":{},"started":{}}})",
                               out.empty() ? "" : ",", s.shard, s.session_id, json_string(s.protocol),
                               json_string(s.client_ip), json_string(s.tls_version), json_string(format_time(s.started_unix)));
        else
            out += fmt::format("shard {} session {}\tprotocol={}\tclient={}\ttls={}\tstarted={}\n", s.shard,
                               s.session_id, s.protocol, s.client_ip, s.tls_version.empty() ? "none" : s.tls_version,
                               format_time(s.started_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply user_logins(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    std::int64_t since = 0;
    if (auto s = r.field("since")) {
        auto parsed = parse_since(*s);
        if (!parsed) return refused(fmt::format("--since {}: invalid time (unix seconds or YYYY-MM-DD)", *s));
        since = *parsed;
    }
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    if (c.logins == nullptr) return ok(r.json ? "[]\n" : "");
    c.logins->flush();
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto events = view->logins(c.logins->history(), user->id, since, r.has("failed"), 1000);
    if (!events) return error_reply("login history", events.error());
    std::string out;
    for (const LoginEvent& e : *events) {
        if (r.json)
            out += fmt::format(R"({}{{"time":{},"result":{},"reason":{},"protocol":{},"client_ip":{},"method":{},"tls":{},"note":{}}})",
                               out.empty() ? "" : ",", json_string(format_time(e.time_unix)), json_string(name_of(e.result)),
                               json_string(name_of(e.reason)), json_string(e.protocol), json_string(e.client_ip),
                               json_string(name_of(e.method)), json_string(e.tls_version),
                               e.note.empty() ? "null" : json_string(e.note));
        else  // a note (a support reveal's reason) comes last: it may hold spaces
            out += fmt::format("{}\t{}\treason={}\tprotocol={}\tclient={}\tmethod={}\ttls={}{}\n",
                               format_time(e.time_unix), name_of(e.result), name_of(e.reason), e.protocol, e.client_ip,
                               name_of(e.method), e.tls_version.empty() ? "none" : e.tls_version,
                               e.note.empty() ? "" : "\tnote=" + e.note);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply user_list(AdminContext& c, const AdminRequest& r) {
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    const auto keys = c.keys.snapshot();
    const auto domain = r.field("domain");
    auto users = view->users(domain);
    if (!users) return error_reply(domain ? fmt::format("domain {}", *domain) : std::string("directory"), users.error());
    std::string out;
    for (const auto& u : *users) {
        auto org = view->org(u.org_id);
        const std::string org_name = org ? org->name : std::string("?");
        if (r.json)
            out += (out.empty() ? "" : ",") + user_json(u, org_name);
        else
            out += fmt::format("{}\torg={}\tstate={}\tquota={}\tapp_passwords={}\ttotp={}\n", u.address, org_name,
                               name_of(u.state), u.quota_bytes ? std::to_string(u.quota_bytes) : std::string("none"),
                               u.app_passwords.size(), u.totp_secret.empty() ? "no" : "yes");
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
