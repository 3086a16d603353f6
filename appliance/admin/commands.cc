// The admin command table (see admin_commands.h). Each handler: check fields, act, answer. Output
// for people is one line per item; with --json a listing is one JSON array of objects.
#include "appliance/admin/commands.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <ctime>

#include "appliance/common/json_text.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/common/messages.h"
#include "store/errc.h"
#include "store/layout.h"
#include "store/mailbox.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/patterns.h"
#include "crypto/random.h"
#include "crypto/totp.h"

namespace vmx {
namespace {

struct Handler {
    std::string_view command;
    AdminReply (*run)(AdminContext&, const AdminRequest&);
};

std::string hex_of(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

AdminReply ok(std::string text) { return {AdminStatus::ok, std::move(text)}; }
AdminReply refused(std::string text) { return {AdminStatus::refused, std::move(text)}; }

// A directory or key error as the admin should read it: "FIELD VALUE: what is wrong".
AdminReply error_reply(std::string_view subject, std::error_code e) {
    const bool admin_can_fix = e.category() == directory_category();
    return {admin_can_fix ? AdminStatus::refused : AdminStatus::failed,
            subject.empty() ? e.message() : fmt::format("{}: {}", subject, e.message())};
}

std::string_view required(const AdminRequest& r, std::string_view name) { return r.field(name).value_or(""); }

std::string format_time(std::int64_t unix_s) {
    const std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf.data();
}

// The scope a user's data is sealed under, by the organisation's plan.
crypto::Scope scope_of(const Organisation& org, std::uint64_t user_id) {
    return crypto::scope_for(org.plan, org.id, user_id);
}

// ---- organisations ---------------------------------------------------------------------------

AdminReply org_add(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    const auto plan = parse_plan(required(r, "plan"));
    if (!plan) return error_reply(fmt::format("plan {}", required(r, "plan")), DirectoryErrc::invalid_plan);
    auto keys = c.keys.snapshot();
    auto org = c.directory.add_org(*keys, name, *plan, c.now_unix());
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    if (*plan != crypto::Plan::ultimate) {
        if (auto e = c.keys.ensure(scope_of(*org, 0), c.now_unix()); !e) return error_reply("keys", e.error());
    }
    return ok(fmt::format("organisation {} added (plan {}, id {})\n", org->name, name_of(org->plan), org->id));
}

AdminReply org_set_plan(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    const auto plan = parse_plan(required(r, "plan"));
    if (!plan) return error_reply(fmt::format("plan {}", required(r, "plan")), DirectoryErrc::invalid_plan);
    auto org = c.directory.set_plan(*c.keys.snapshot(), name, *plan);
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    // New writes of the organisation's users go under the new plan's scope from now on.
    if (*plan != crypto::Plan::ultimate) {
        if (auto e = c.keys.ensure(scope_of(*org, 0), c.now_unix()); !e) return error_reply("keys", e.error());
    } else {
        auto txn = store::ReadTxn::begin(c.directory.env());
        if (!txn) return error_reply("directory", txn.error());
        auto users = c.directory.list_users(*txn, *c.keys.snapshot(), std::nullopt);
        if (!users) return error_reply("directory", users.error());
        txn->reset();
        for (const User& u : *users)
            if (u.org_id == org->id)
                if (auto e = c.keys.ensure(scope_of(*org, u.id), c.now_unix()); !e) return error_reply("keys", e.error());
    }
    // Records already stored move to the new scope's key in the background.
    if (c.rewrap) c.rewrap->start(RewrapControl::Reason::plan_change);
    return ok(fmt::format("organisation {} is now on plan {}; stored records move to its key in the background\n",
                          org->name, name_of(org->plan)));
}

std::string org_json(const Organisation& o) {
    std::string nets;
    for (const auto& n : o.policy.allowed_networks) nets += (nets.empty() ? "" : ",") + json_string(n);
    return fmt::format(R"({{"id":{},"name":{},"plan":{},"session_max_s":{},"require_mfa":{},"allowed_networks":[{}],"created":{}}})",
                       o.id, json_string(o.name), json_string(name_of(o.plan)), o.policy.session_max_s,
                       o.policy.require_mfa ? "true" : "false", nets, json_string(format_time(o.created_unix)));
}

AdminReply org_list(AdminContext& c, const AdminRequest& r) {
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto orgs = c.directory.list_orgs(*txn, *c.keys.snapshot());
    if (!orgs) return error_reply("directory", orgs.error());
    std::string out;
    if (r.json) {
        for (const auto& o : *orgs) out += (out.empty() ? "" : ",") + org_json(o);
        return ok("[" + out + "]\n");
    }
    for (const auto& o : *orgs) {
        std::string nets;
        for (const auto& n : o.policy.allowed_networks) nets += (nets.empty() ? "" : ",") + n;
        out += fmt::format("{}\tplan={}\tsession_max_s={}\trequire_mfa={}\tallow_net={}\n", o.name,
                           name_of(o.plan), o.policy.session_max_s, o.policy.require_mfa ? "yes" : "no",
                           nets.empty() ? "any" : nets);
    }
    return ok(out);
}

AdminReply org_policy(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto org = c.directory.find_org(*txn, *c.keys.snapshot(), name);
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    txn->reset();
    OrgPolicy policy = org->policy;
    if (auto s = r.field("session-max")) {
        auto seconds = parse_duration_s(*s);
        if (!seconds) return error_reply(fmt::format("--session-max {}", *s), DirectoryErrc::invalid_duration);
        policy.session_max_s = *seconds;
    }
    if (r.has("require-mfa")) policy.require_mfa = true;
    if (r.has("no-require-mfa")) policy.require_mfa = false;
    if (r.has("allow-any-net")) policy.allowed_networks.clear();
    const auto nets = r.all("allow-net");
    if (!nets.empty()) {
        policy.allowed_networks.clear();
        for (auto n : nets) {
            if (!matches(Pattern::ipv4_cidr, n) && !matches(Pattern::ipv6_cidr, n))
                return error_reply(fmt::format("--allow-net {}", n), DirectoryErrc::invalid_network);
            policy.allowed_networks.emplace_back(n);
        }
    }
    auto changed = c.directory.set_policy(*c.keys.snapshot(), name, policy);
    if (!changed) return error_reply(fmt::format("organisation {}", name), changed.error());
    return ok(fmt::format("organisation {}: policy updated\n", changed->name));
}

// ---- domains ---------------------------------------------------------------------------------

AdminReply domain_add(AdminContext& c, const AdminRequest& r) {
    const auto domain = required(r, "domain");
    const auto org = required(r, "org");
    auto added = c.directory.add_domain(*c.keys.snapshot(), domain, org, c.now_unix());
    if (!added) {
        const bool about_org = added.error() == DirectoryErrc::unknown_org || added.error() == DirectoryErrc::invalid_org_name;
        return error_reply(about_org ? fmt::format("organisation {}", org) : fmt::format("domain {}", domain),
                           added.error());
    }
    return ok(fmt::format("domain {} added to organisation {}\n", added->name, org));
}

AdminReply domain_list(AdminContext& c, const AdminRequest& r) {
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    const auto keys = c.keys.snapshot();
    auto domains = c.directory.list_domains(*txn, *keys);
    if (!domains) return error_reply("directory", domains.error());
    std::string out;
    for (const auto& d : *domains) {
        auto org = c.directory.org(*txn, *keys, d.org_id);
        const std::string org_name = org ? org->name : std::string("?");
        if (r.json)
            out += fmt::format(R"({}{{"id":{},"domain":{},"org":{}}})", out.empty() ? "" : ",", d.id,
                               json_string(d.name), json_string(org_name));
        else
            out += fmt::format("{}\torg={}\n", d.name, org_name);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

// ---- users -----------------------------------------------------------------------------------

Result<std::string> hash_secret(AdminContext& c, std::string_view secret) {
    if (secret.empty() || secret.size() > crypto::password_bytes_max) return fail(std::make_error_code(std::errc::invalid_argument));
    return crypto::hash_password(secret, c.argon2);
}

AdminReply user_add(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    std::uint64_t quota = 0;
    if (auto q = r.field("quota")) {
        auto parsed = parse_size(*q);
        if (!parsed) return error_reply(fmt::format("--quota {}", *q), DirectoryErrc::invalid_quota);
        quota = *parsed;
    }
    std::string hash;
    if (!r.secret.empty()) {
        auto h = hash_secret(c, r.secret);
        if (!h) return refused("password: empty or longer than 1024 bytes");
        hash = std::move(*h);
    }
    auto keys = c.keys.snapshot();
    auto user = c.directory.add_user(*keys, address, std::move(hash), quota, c.now_unix());
    if (!user) {
        const bool about_domain = user.error() == DirectoryErrc::unknown_domain;
        return error_reply(about_domain ? fmt::format("domain of {}", address) : fmt::format("user {}", address),
                           user.error());
    }
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto org = c.directory.org(*txn, *keys, user->org_id);
    txn->reset();
    if (!org) return error_reply("directory", org.error());
    if (auto e = c.keys.ensure(scope_of(*org, user->id), c.now_unix()); !e) return error_reply("keys", e.error());
    return ok(fmt::format("user {} added (organisation {}, quota {}, password {})\n", user->address, org->name,
                          quota ? std::to_string(quota) + " bytes" : std::string("none"),
                          r.secret.empty() ? "not set" : "set"));
}

// Loads a user, lets `change` edit it, stores it. `change` returns an error reply to stop.
template <class Change>
AdminReply change_user(AdminContext& c, std::string_view address, Change change) {
    const auto keys = c.keys.snapshot();
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto user = c.directory.find_user(*txn, *keys, address);
    txn->reset();
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    std::string message;
    if (auto stop = change(*user, message)) return *stop;
    auto stored = c.directory.update_user(*keys, *user);
    if (!stored) return error_reply(fmt::format("user {}", address), stored.error());
    return ok(message);
}

AdminReply user_passwd(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    if (r.secret.empty()) return refused("password: none given (pipe it to --password-stdin)");
    auto hash = hash_secret(c, r.secret);
    if (!hash) return refused("password: empty or longer than 1024 bytes");
    return change_user(c, address, [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        u.password_hash = std::move(*hash);
        msg = fmt::format("user {}: password changed\n", u.address);
        return std::nullopt;
    });
}

AdminReply set_state(AdminContext& c, const AdminRequest& r, UserState state) {
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        if (u.state == UserState::closed) return refused(fmt::format("user {}: the account is closed", u.address));
        u.state = state;
        if (state == UserState::disabled) ++u.token_generation;
        msg = fmt::format("user {}: {}\n", u.address, name_of(state));
        return std::nullopt;
    });
}

AdminReply user_disable(AdminContext& c, const AdminRequest& r) { return set_state(c, r, UserState::disabled); }
AdminReply user_enable(AdminContext& c, const AdminRequest& r) { return set_state(c, r, UserState::active); }

AdminReply user_logout(AdminContext& c, const AdminRequest& r) {
    std::uint64_t user_id = 0;
    AdminReply reply = change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        ++u.token_generation;
        user_id = u.id;
        const std::size_t live = c.sessions ? c.sessions->of_user(u.id).size() : 0;
        msg = fmt::format("user {}: logged out everywhere ({} live session(s) ended, session tokens revoked)\n",
                          u.address, live);
        return std::nullopt;
    });
    if (reply.status == AdminStatus::ok && c.logout_everywhere) c.logout_everywhere(user_id);
    return reply;
}

// The user a command names, read in a fresh transaction.
Result<User> named_user(AdminContext& c, std::string_view address) {
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return fail(txn.error());
    return c.directory.find_user(*txn, *c.keys.snapshot(), address);
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

// "1790000000" (unix seconds) or "2026-11-23" (UTC midnight).
std::optional<std::int64_t> parse_since(std::string_view text) {
    std::int64_t v = 0;
    if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        ec == std::errc() && end == text.data() + text.size())
        return v;
    std::tm tm{};
    const std::string copy(text);
    const char* end = strptime(copy.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
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
    if (c.flush_logins) c.flush_logins();
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto events = c.logins->read(*txn, *c.keys.snapshot(), user->id, since, r.has("failed"), 1000);
    if (!events) return error_reply("login history", events.error());
    std::string out;
    for (const LoginEvent& e : *events) {
        if (r.json)
            out += fmt::format(R"({}{{"time":{},"result":{},"reason":{},"protocol":{},"client_ip":{},"method":{},"tls":{}}})",
                               out.empty() ? "" : ",", json_string(format_time(e.time_unix)), json_string(name_of(e.result)),
                               json_string(name_of(e.reason)), json_string(e.protocol), json_string(e.client_ip),
                               json_string(name_of(e.method)), json_string(e.tls_version));
        else
            out += fmt::format("{}\t{}\treason={}\tprotocol={}\tclient={}\tmethod={}\ttls={}\n",
                               format_time(e.time_unix), name_of(e.result), name_of(e.reason), e.protocol, e.client_ip,
                               name_of(e.method), e.tls_version.empty() ? "none" : e.tls_version);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

std::string user_json(const User& u, std::string_view org) {
    return fmt::format(R"({{"id":{},"address":{},"org":{},"state":{},"quota_bytes":{},"app_passwords":{},"totp":{},"created":{}}})",
                       u.id, json_string(u.address), json_string(org), json_string(name_of(u.state)), u.quota_bytes,
                       u.app_passwords.size(), u.totp_secret.empty() ? "false" : "true",
                       json_string(format_time(u.created_unix)));
}

AdminReply user_list(AdminContext& c, const AdminRequest& r) {
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    const auto keys = c.keys.snapshot();
    const auto domain = r.field("domain");
    auto users = c.directory.list_users(*txn, *keys, domain);
    if (!users) return error_reply(domain ? fmt::format("domain {}", *domain) : std::string("directory"), users.error());
    std::string out;
    for (const auto& u : *users) {
        auto org = c.directory.org(*txn, *keys, u.org_id);
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

// 20 characters from a 32-letter alphabet (100 bits), in groups of four for reading aloud.
Result<std::string> generate_app_password() {
    constexpr std::string_view alphabet = "abcdefghjkmnpqrstuvwxyz23456789";  // no look-alikes
    std::array<std::uint8_t, 20> random{};
    if (auto r = crypto::random_bytes(random); !r) return fail(r.error());
    std::string out;
    for (std::size_t i = 0; i < random.size(); ++i) {
        if (i > 0 && i % 4 == 0) out += '-';
        out += alphabet[random[i] % alphabet.size()];
    }
    random.fill(0);
    return out;
}

AdminReply app_password_add(AdminContext& c, const AdminRequest& r) {
    const auto label = required(r, "label");
    if (!matches(Pattern::label, label)) return error_reply(fmt::format("--label {}", label), DirectoryErrc::invalid_label);
    auto password = generate_app_password();
    if (!password) return error_reply("random", password.error());
    auto hash = crypto::hash_password(*password, c.argon2);
    if (!hash) return error_reply("password hash", hash.error());
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        for (const auto& a : u.app_passwords)
            if (a.label == label) return error_reply(fmt::format("--label {}", label), DirectoryErrc::label_exists);
        if (u.app_passwords.size() >= app_passwords_per_user_max)
            return error_reply(fmt::format("user {}", u.address), DirectoryErrc::too_many_app_passwords);
        u.app_passwords.push_back({std::string(label), std::move(*hash), c.now_unix()});
        msg = fmt::format("app password for {} ({}): {}\n(shown once; it cannot be shown again)\n", u.address, label,
                          *password);
        return std::nullopt;
    });
}

AdminReply app_password_list(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return error_reply("directory", txn.error());
    auto user = c.directory.find_user(*txn, *c.keys.snapshot(), address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    std::string out;
    for (const auto& a : user->app_passwords) {
        if (r.json)
            out += fmt::format(R"({}{{"label":{},"created":{}}})", out.empty() ? "" : ",", json_string(a.label),
                               json_string(format_time(a.created_unix)));
        else
            out += fmt::format("{}\tcreated={}\n", a.label, format_time(a.created_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply app_password_revoke(AdminContext& c, const AdminRequest& r) {
    const auto label = r.field("label");
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        const std::size_t before = u.app_passwords.size();
        if (label)
            std::erase_if(u.app_passwords, [&](const AppPassword& a) { return a.label == *label; });
        else
            u.app_passwords.clear();
        if (label && u.app_passwords.size() == before)
            return error_reply(fmt::format("--label {}", *label), DirectoryErrc::unknown_label);
        msg = fmt::format("user {}: {} app password(s) revoked\n", u.address, before - u.app_passwords.size());
        return std::nullopt;
    });
}

AdminReply totp_enroll(AdminContext& c, const AdminRequest& r) {
    auto secret = crypto::totp_generate_secret();
    if (!secret) return error_reply("random", secret.error());
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        u.totp_secret = *secret;
        u.totp_last_step = 0;
        msg = fmt::format("TOTP enrolled for {}\nsecret: {}\nuri: {}\n(shown once; add it to an authenticator app now)\n",
                          u.address, crypto::base32_encode(*secret),
                          crypto::totp_provisioning_uri("vaultmx", u.address, *secret));
        return std::nullopt;
    });
}

AdminReply totp_disable(AdminContext& c, const AdminRequest& r) {
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        u.totp_secret.clear();
        u.totp_last_step = 0;
        msg = fmt::format("TOTP disabled for {}\n", u.address);
        return std::nullopt;
    });
}

// ---- mailboxes -------------------------------------------------------------------------------

// The user's mailbox: where it lives and under which key.
Result<store::MailboxRef> mailbox_of(AdminContext& c, const User& user) {
    auto txn = store::ReadTxn::begin(c.directory.env());
    if (!txn) return fail(txn.error());
    auto org = c.directory.org(*txn, *c.keys.snapshot(), user.org_id);
    if (!org) return fail(org.error());
    const std::uint32_t segment = store::segment_of(user.id, c.envs->segments());
    return store::MailboxRef{user.id, segment, crypto::scope_for(org->plan, org->id, user.id)};
}

AdminReply user_mailbox(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    if (c.envs == nullptr) return {AdminStatus::failed, "mailboxes are not open"};
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    auto box = mailbox_of(c, *user);
    if (!box) return error_reply("directory", box.error());
    auto txn = store::ReadTxn::begin(*c.envs->env(box->segment, store::SegmentKind::mail));
    if (!txn) return error_reply("mailbox", txn.error());
    const auto trash = r.has("trash") ? store::ListTrash::include : store::ListTrash::exclude;
    auto messages = store::list_messages(*txn, c.handles->segment(box->segment).mailboxes, *c.keys.snapshot(), *box, trash);
    if (!messages) return error_reply("mailbox", messages.error());
    std::string out;
    for (const store::MessageInfo& m : *messages) {
        const bool live = m.state == store::MessageState::live;
        if (r.json)
            out += fmt::format(R"({}{{"id":{},"size":{},"uidl":{},"state":{},"arrival":{},"deleted":{}}})",
                               out.empty() ? "" : ",", m.id, m.size_bytes, json_string(m.uidl),
                               json_string(live ? "live" : "trash"), json_string(format_time(m.arrival_unix)),
                               live ? "null" : json_string(format_time(m.deleted_unix)));
        else
            out += fmt::format("{}\tsize={}\tuidl={}\tstate={}\tarrival={}{}\n", m.id, m.size_bytes, m.uidl,
                               live ? "live" : "trash", format_time(m.arrival_unix),
                               live ? std::string() : "\tdeleted=" + format_time(m.deleted_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

// Restores from trash on the mailbox's owner shard (its only writer); answers when that is durable.
void user_restore(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const auto address = required(r, "address");
    std::uint64_t id = 0;
    const auto id_text = required(r, "id");
    if (auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        ec != std::errc() || end != id_text.data() + id_text.size() || id == 0)
        return respond(refused(fmt::format("message id {}: not a message id (see: user mailbox --trash)", id_text)));
    if (c.envs == nullptr || !c.to_shard) return respond({AdminStatus::failed, "mailboxes are not open"});
    auto user = named_user(c, address);
    if (!user) return respond(error_reply(fmt::format("user {}", address), user.error()));
    auto box = mailbox_of(c, *user);
    if (!box) return respond(error_reply("directory", box.error()));
    const std::uint64_t token = c.next_token++;
    auto payload = std::make_unique<MailboxRestore>();
    payload->box = *box;
    payload->message_id = id;
    payload->token = token;
    Message m;
    m.kind = message_mailbox_restore;
    m.payload = std::move(payload);
    c.waiting[token] = [respond, address = std::string(user->address), id](AdminReply reply) {
        if (reply.status == AdminStatus::ok) reply.text = fmt::format("user {}: message {} restored\n", address, id);
        respond(std::move(reply));
    };
    if (!c.to_shard(store::owner_shard(box->segment, c.shards), std::move(m))) {
        auto waiting = std::move(c.waiting[token]);
        c.waiting.erase(token);
        waiting({AdminStatus::failed, "the mailbox's shard is busy; try again"});
    }
}

// ---- keys and stats --------------------------------------------------------------------------

std::string_view scope_kind_name(crypto::ScopeKind k) {
    switch (k) {
        case crypto::ScopeKind::shared: return "shared";
        case crypto::ScopeKind::organisation: return "organisation";
        case crypto::ScopeKind::user: return "user";
        case crypto::ScopeKind::appliance: return "appliance";
    }
    return "unknown";
}

std::string_view key_state_name(crypto::KeyState s) {
    switch (s) {
        case crypto::KeyState::active: return "active";
        case crypto::KeyState::retiring: return "retiring";
        case crypto::KeyState::destroyed: return "destroyed";
    }
    return "unknown";
}

AdminReply key_status(AdminContext& c, const AdminRequest& r) {
    std::string out;
    for (const auto& record : c.keys.records()) {
        for (const auto& v : record.versions) {
            if (r.json)
                out += fmt::format(R"({}{{"key_id":{},"scope":{},"owner":{},"version":{},"state":{},"created":{}}})",
                                   out.empty() ? "" : ",", record.key_id, json_string(scope_kind_name(record.scope.kind)),
                                   record.scope.owner, v.version, json_string(key_state_name(v.state)),
                                   json_string(format_time(v.created_unix)));
            else
                out += fmt::format("key {}\tscope={}:{}\tversion={}\tstate={}\tcreated={}\n", record.key_id,
                                   scope_kind_name(record.scope.kind), record.scope.owner, v.version,
                                   key_state_name(v.state), format_time(v.created_unix));
        }
    }
    const std::string rewrap = c.rewrap ? c.rewrap->status() : std::string("rewrap: idle");
    if (r.json) return ok("[" + out + "]\n");
    return ok(out + rewrap + "\n");
}

AdminReply key_rotate(AdminContext& c, const AdminRequest& r) {
    crypto::Scope scope;
    std::string what;
    if (r.has("shared")) {
        scope = {crypto::ScopeKind::shared, 0};
        what = "the shared key";
    } else if (auto name = r.field("org")) {
        auto txn = store::ReadTxn::begin(c.directory.env());
        if (!txn) return error_reply("directory", txn.error());
        auto org = c.directory.find_org(*txn, *c.keys.snapshot(), *name);
        if (!org) return error_reply(fmt::format("organisation {}", *name), org.error());
        if (org->plan != crypto::Plan::pro)
            return refused(fmt::format("organisation {} is on plan {}: only pro organisations have their own key",
                                       org->name, name_of(org->plan)));
        scope = {crypto::ScopeKind::organisation, org->id};
        what = "the key of organisation " + org->name;
    } else if (auto address = r.field("user")) {
        auto txn = store::ReadTxn::begin(c.directory.env());
        if (!txn) return error_reply("directory", txn.error());
        const auto keys = c.keys.snapshot();
        auto user = c.directory.find_user(*txn, *keys, *address);
        if (!user) return error_reply(fmt::format("user {}", *address), user.error());
        auto org = c.directory.org(*txn, *keys, user->org_id);
        if (!org) return error_reply("directory", org.error());
        if (org->plan != crypto::Plan::ultimate)
            return refused(fmt::format("user {} is on plan {}: only ultimate users have their own key", user->address,
                                       name_of(org->plan)));
        scope = {crypto::ScopeKind::user, user->id};
        what = "the key of user " + user->address;
    } else if (r.has("master")) {
        return refused("key rotate --master: not available in this version (the master key file is root's; "
                       "rotate scope keys instead)");
    } else {
        return refused("key rotate: say which key: --shared, --org NAME, --user ADDRESS or --master");
    }
    auto ref = c.keys.rotate(scope, c.now_unix());
    if (!ref) return error_reply("keys", ref.error());
    if (c.rewrap) c.rewrap->start();
    return ok(fmt::format("rotated {}: version {} is active; the previous version retires once its records are "
                          "rewrapped\n", what, ref->version));
}

// ---- audit -----------------------------------------------------------------------------------

AdminReply audit_show(AdminContext& c, const AdminRequest& r) {
    if (c.audit == nullptr) return ok(r.json ? "[]\n" : "");
    std::int64_t since = 0;
    if (auto s = r.field("since")) {
        auto parsed = parse_since(*s);
        if (!parsed) return refused(fmt::format("--since {}: invalid time (unix seconds or YYYY-MM-DD)", *s));
        since = *parsed;
    }
    auto entries = c.audit->read(since, 10000);
    if (!entries) return error_reply("audit", entries.error());
    std::string out;
    for (const AuditEntry& e : *entries) {
        if (!r.json) {
            out += format_audit_entry(e) + "\n";
            continue;
        }
        std::string args;
        for (const auto& a : e.arguments) args += (args.empty() ? "" : ",") + json_string(a);
        out += fmt::format(R"({}{{"sequence":{},"time":{},"uid":{},"command":{},"arguments":[{}],"result":{},"message":{}}})",
                           out.empty() ? "" : ",", e.sequence, json_string(format_time(e.time_unix)), e.actor_uid,
                           json_string(e.command), args,
                           json_string(e.result.outcome == AuditOutcome::ok ? "ok" : e.result.error_class),
                           json_string(e.result.message));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply audit_verify(AdminContext& c, const AdminRequest&) {
    if (c.audit == nullptr) return {AdminStatus::failed, "audit: no audit log"};
    const AuditVerifyReport report = c.audit->verify();
    const std::string line = format_audit_verify(report) + "\n";
    if (report.ok()) return ok(line);
    return {report.fault == AuditFault::unreadable ? AdminStatus::failed : AdminStatus::refused, line};
}

AdminReply stats(AdminContext& c, const AdminRequest& r) {
    if (c.engine == nullptr) return ok(r.json ? "[]\n" : "");
    std::string out;
    for (std::uint32_t s = 0; s < c.engine->shard_count(); ++s) {
        const ShardStats& st = c.engine->shard(s).stats();
        const auto live = st.connections_live.load(std::memory_order_relaxed);
        const auto accepted = st.accepted.load(std::memory_order_relaxed);
        const auto refused_full = st.refused_full.load(std::memory_order_relaxed);
        // The shard's delivery counters (its ShardContext was built before the engine started).
        const DeliveryStats* d = c.delivery_stats ? c.delivery_stats(s) : nullptr;
        const auto load = [](const std::atomic<std::uint64_t>* v) { return v ? v->load(std::memory_order_relaxed) : 0; };
        const auto messages = load(d ? &d->accepted : nullptr);
        const auto delivered = load(d ? &d->delivered : nullptr);
        const auto queued = load(d ? &d->queued : nullptr);
        // The store lane's group commit: writes, the durable commits that carried them, the largest batch.
        const store::LaneStats* l = c.lane_stats ? c.lane_stats(s) : nullptr;
        const auto writes = load(l ? &l->requests : nullptr);
        const auto commits = load(l ? &l->transactions : nullptr);
        const auto largest = load(l ? &l->largest_batch : nullptr);
        // Delivery markers kept by the last clean-up pass, and removed in all (bounded, not growing).
        const MarkerCleanupStats* mk = c.marker_stats ? c.marker_stats(s) : nullptr;
        const auto markers = load(mk ? &mk->live : nullptr);
        const auto markers_removed = load(mk ? &mk->removed : nullptr);
        if (r.json)
            out += fmt::format(R"({}{{"shard":{},"connections":{},"accepted":{},"refused_full":{},"messages":{},"delivered":{},"queue":{},"store_writes":{},"store_commits":{},"store_largest_batch":{},"markers":{},"markers_removed":{}}})",
                               out.empty() ? "" : ",", s, live, accepted, refused_full, messages, delivered, queued,
                               writes, commits, largest, markers, markers_removed);
        else
            out += fmt::format("shard {}\tconnections={}\taccepted={}\trefused_full={}\tmessages={}\tdelivered={}\tqueue={}"
                               "\tstore_writes={}\tstore_commits={}\tstore_largest_batch={}\tmarkers={}\tmarkers_removed={}\n",
                               s, live, accepted, refused_full, messages, delivered, queued, writes, commits, largest,
                               markers, markers_removed);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

constexpr std::array kHandlers{
    Handler{"org add", org_add},
    Handler{"org set-plan", org_set_plan},
    Handler{"org list", org_list},
    Handler{"org policy", org_policy},
    Handler{"domain add", domain_add},
    Handler{"domain list", domain_list},
    Handler{"user add", user_add},
    Handler{"user passwd", user_passwd},
    Handler{"user list", user_list},
    Handler{"user disable", user_disable},
    Handler{"user enable", user_enable},
    Handler{"user logout", user_logout},
    Handler{"user sessions", user_sessions},
    Handler{"user logins", user_logins},
    Handler{"user app-password add", app_password_add},
    Handler{"user app-password list", app_password_list},
    Handler{"user app-password revoke", app_password_revoke},
    Handler{"user totp enroll", totp_enroll},
    Handler{"user totp disable", totp_disable},
    Handler{"key status", key_status},
    Handler{"key rotate", key_rotate},
    Handler{"stats", stats},
    Handler{"audit show", audit_show},
    Handler{"audit verify", audit_verify},
    Handler{"user mailbox", user_mailbox},
};

// Commands that answer once a shard has done its part.
struct AsyncHandler {
    std::string_view command;
    void (*run)(AdminContext&, const AdminRequest&, AdminResponder);
};

constexpr std::array kAsyncHandlers{
    AsyncHandler{"user restore", user_restore},
};

// The request as audit arguments: each field as "--name value"; the secret never.
std::vector<std::string> audit_arguments(const AdminRequest& r) {
    std::vector<std::string> out;
    for (const auto& [name, value] : r.fields) {
        out.push_back("--" + name);
        out.push_back(value);
    }
    if (!r.secret.empty()) out.emplace_back("--password-stdin");
    return out;
}

std::string_view status_class(AdminStatus s) {
    switch (s) {
        case AdminStatus::ok: return "";
        case AdminStatus::refused: return "refused";
        case AdminStatus::failed: return "failed";
        case AdminStatus::forbidden: return "forbidden";
    }
    return "failed";
}

// Appends the finished command to the audit log, then answers.
void record_and_respond(AdminContext& context, const std::string& command, std::vector<std::string> arguments,
                        std::uint32_t uid, AdminReply reply, const AdminResponder& respond) {
    if (context.audit != nullptr) {
        AuditEntry entry;
        entry.time_unix = context.now_unix();
        entry.actor_uid = uid;
        entry.command = command.empty() ? std::string("(none)") : command;
        entry.arguments = std::move(arguments);
        if (reply.status != AdminStatus::ok) {
            // The first line of what the admin was told (replies never carry secrets; successful
            // ones may, such as a new app password, and are not recorded).
            const std::string first_line = reply.text.substr(0, reply.text.find('\n'));
            entry.result = AuditResult::failure(std::string(status_class(reply.status)), first_line);
        }
        if (auto appended = context.audit->append(entry); !appended) {
            log_event(LogLevel::error, "audit.append_failed", "command=\"{}\" error=\"{}\"", command,
                      appended.error().message());
            reply.status = AdminStatus::failed;
            reply.text += "(warning: this command could not be recorded in the audit log)\n";
        } else {
            log_event(LogLevel::info, "audit.appended", "sequence={} hash={}", appended->sequence, hex_of(appended->hash));
        }
    }
    respond(std::move(reply));
}

}  // namespace

void run_admin_command(AdminContext& context, const AdminRequest& request, const AdminPeer& peer,
                       AdminResponder respond) {
    auto finish = [&context, command = request.command, arguments = audit_arguments(request), uid = peer.uid,
                   respond = std::move(respond)](AdminReply reply) mutable {
        record_and_respond(context, command, std::move(arguments), uid, std::move(reply), respond);
    };
    for (const AsyncHandler& h : kAsyncHandlers)
        if (h.command == request.command) return h.run(context, request, std::move(finish));
    for (const Handler& h : kHandlers)
        if (h.command == request.command) return finish(h.run(context, request));
    finish(refused(fmt::format("unknown command: {}", request.command)));
}

void on_admin_shard_reply(AdminContext& context, Message& m) {
    if (m.kind != message_mailbox_restored || !m.payload) return;
    auto* done = static_cast<MailboxRestored*>(m.payload.get());
    auto it = context.waiting.find(done->token);
    if (it == context.waiting.end()) return;
    AdminResponder respond = std::move(it->second);
    context.waiting.erase(it);
    if (!done->error) return respond({AdminStatus::ok, {}});
    if (done->error == store::StoreErrc::invalid_request) return respond(refused("that message is not in the trash"));
    if (done->error == store::StoreErrc::not_found) return respond(refused("no such message (purged, or never there)"));
    respond(error_reply("mailbox", done->error));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t unit = 1;
    switch (text.back()) {
        case 'K': case 'k': unit = std::uint64_t{1} << 10; break;
        case 'M': case 'm': unit = std::uint64_t{1} << 20; break;
        case 'G': case 'g': unit = std::uint64_t{1} << 30; break;
        case 'T': case 't': unit = std::uint64_t{1} << 40; break;
        default: break;
    }
    if (unit != 1) text.remove_suffix(1);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (n > (std::uint64_t{1} << 50) / unit) return std::nullopt;
    return n * unit;
}

std::optional<std::uint32_t> parse_duration_s(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t unit = 1;
    switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: unit = 0; break;
    }
    if (unit != 0) text.remove_suffix(1);
    else unit = 1;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (n > 366ull * 86400 / unit) return std::nullopt;
    return static_cast<std::uint32_t>(n * unit);
}

}  // namespace vmx
