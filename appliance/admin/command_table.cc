// The admin command table (see command_table.h): every command, its arguments and their checks, in
// the order `vaultmx --help` lists them. Rows are checked at compile time (first_bad_row), so a
// misspelt option, a field named twice or a command outside its group does not build.
#include "appliance/admin/command_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace vmx {
namespace {

// ---- how arguments are written ----------------------------------------------------------------

constexpr CommandArg positional(std::string_view field, std::string_view spelling, std::string_view help,
                                ValueCheck check = {}) {
    return {field, spelling, ArgKind::positional, Need::required, help, check};
}
// Options are sent under their spelling without the dashes: --quota is the field "quota".
constexpr CommandArg option(std::string_view spelling, Need need, std::string_view help, ValueCheck check = {}) {
    return {spelling.substr(2), spelling, ArgKind::option, need, help, check};
}
constexpr CommandArg repeatable(std::string_view spelling, std::string_view help, ValueCheck check = {}) {
    return {spelling.substr(2), spelling, ArgKind::repeatable, Need::optional, help, check};
}
constexpr CommandArg flag(std::string_view spelling, std::string_view help) {
    return {spelling.substr(2), spelling, ArgKind::flag, Need::optional, help, {}};
}

constexpr ValueCheck an_address{Pattern::address, {}, "address", {}};
constexpr ValueCheck a_sender{Pattern::address, {}, "sender", "address"};
constexpr ValueCheck an_org{Pattern::org_name, {}, "organisation", {}};
constexpr ValueCheck a_domain{Pattern::domain, {}, "domain", {}};
constexpr ValueCheck a_label{Pattern::label, {}, "--label", {}};
constexpr ValueCheck a_network{Pattern::ipv4_cidr, Pattern::ipv6_cidr, "--allow-net", "network (an IPv4 or IPv6 CIDR)"};

constexpr std::string_view since_help = "only since this time (unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)";

// ---- arguments, by command ---------------------------------------------------------------------

constexpr std::span<const CommandArg> no_args{};

constexpr CommandArg kAddress[] = {positional("address", "address", "the user's address", an_address)};

constexpr CommandArg kAcmeRenew[] = {
    option("--name", Need::optional, "a host name the certificate holds (default: every certificate)", a_domain),
};

constexpr CommandArg kOrgName[] = {positional("name", "name", "organisation name", an_org)};
constexpr CommandArg kUserPurge[] = {
    positional("address", "address", "the user's address", an_address),
    flag("--now", "purge now instead of after [lifecycle] closure_purge_days"),
};

constexpr CommandArg kOrgAdd[] = {
    positional("name", "name", "organisation name", an_org),
    option("--plan", Need::required, "starter, pro or ultimate"),
};
constexpr CommandArg kOrgSetPlan[] = {
    positional("name", "name", "organisation name", an_org),
    positional("plan", "plan", "starter, pro or ultimate"),
};
constexpr CommandArg kOrgPolicy[] = {
    positional("name", "name", "organisation name", an_org),
    option("--session-max", Need::optional, "longest session, e.g. 8h (0: no limit)"),
    flag("--require-mfa", "require a second factor (POP3: app passwords only)"),
    flag("--no-require-mfa", "stop requiring a second factor"),
    flag("--allow-any-net", "allow logins from any network"),  // before --allow-net: the handler clears, then sets
    repeatable("--allow-net", "client networks allowed to log in (CIDR; repeatable)", a_network),
    option("--messages-per-hour", Need::optional, "hourly limit on submitted messages (0: the appliance default)"),
    option("--recipients-per-hour", Need::optional, "hourly limit on submitted recipients (0: the appliance default)"),
};
constexpr CommandArg kDomainAdd[] = {
    positional("domain", "domain", "domain name", a_domain),
    option("--org", Need::required, "the owning organisation", an_org),
};
constexpr CommandArg kUserAdd[] = {
    positional("address", "address", "the user's address", an_address),
    option("--quota", Need::optional, "mailbox quota, e.g. 2G"),
};
constexpr CommandArg kUserList[] = {option("--domain", Need::optional, "only this domain's users", a_domain)};
constexpr CommandArg kUserLogins[] = {
    positional("address", "address", "the user's address", an_address),
    option("--since", Need::optional, since_help),
    flag("--failed", "only failed attempts"),
};
constexpr CommandArg kUserMailbox[] = {
    positional("address", "address", "the user's address", an_address),
    flag("--trash", "also list messages in the trash"),
};
constexpr CommandArg kUserRestore[] = {
    positional("address", "address", "the user's address", an_address),
    positional("id", "message_id", "the message's id (see: user mailbox --trash)"),
};
constexpr CommandArg kUserExport[] = {
    positional("address", "address", "the user's address", an_address),
    option("--out", Need::required, "the mbox file to write (mode 0600; written as FILE.part, then renamed)"),
    flag("--trash", "also export the messages in the trash, after the live ones"),
    flag("--force", "replace FILE if it exists"),
};
constexpr CommandArg kSupportMailbox[] = {
    positional("address", "address", "the user's address", an_address),
    flag("--reveal", "show senders and subjects in clear (needs --reason; audited, and shown in the user's history)"),
    option("--reason", Need::optional, "why they are revealed, e.g. \"ticket 42\" (at most 200 bytes)"),
    flag("--trash", "also list messages in the trash"),
};
constexpr CommandArg kAppPasswordAdd[] = {
    positional("address", "address", "the user's address", an_address),
    option("--label", Need::required, "what it is for, e.g. phone", a_label),
};
constexpr CommandArg kAppPasswordRevoke[] = {
    positional("address", "address", "the user's address", an_address),
    option("--label", Need::optional, "the one to revoke"),
};
constexpr CommandArg kSender[] = {
    positional("address", "address", "the user's address", an_address),
    positional("sender", "sender", "an address the user may send as", a_sender),
};
constexpr CommandArg kKeyRotate[] = {
    flag("--shared", "the key of starter organisations"),
    option("--org", Need::optional, "a pro organisation's key"),
    option("--user", Need::optional, "a user's own key (on ultimate: the user's scope key, with it)"),
    flag("--appliance", "the appliance key: directory, queues, audit, login history"),
    flag("--master", "the master key"),
    option("--new-key-file", Need::optional, "with --master: the new key's file (64 hex digits or 32 bytes, mode 0600)"),
};
constexpr std::string_view kKeyScopes[] = {"shared", "org", "user", "appliance", "master"};
constexpr CommandArg kAuditShow[] = {option("--since", Need::optional, since_help)};
constexpr CommandArg kLogsShow[] = {
    option("--since", Need::optional, since_help),
    option("--until", Need::optional, "only before this time (as --since)"),
    option("--event", Need::optional, "only this event, or a family of them: smtp, smtp.session"),
    option("--after", Need::optional, "only events after this sequence number"),
    option("--limit", Need::optional, "at most this many events (default 100000)"),
    flag("--follow", "keep printing new events as they come (Ctrl-C ends)"),
};
// Names are checked by the daemon (valid_secret_name: [a-z0-9._/-]{1,128}); the CLI sends as given.
constexpr CommandArg kSecretName[] = {positional("name", "name", "the secret's name, e.g. relayhost")};
constexpr ValueCheck a_selector{Pattern::dkim_selector, {}, "--selector",
                                "selector (1 to 63 of a-z 0-9 -, not first -)"};
constexpr CommandArg kDkimDomain[] = {positional("domain", "domain", "the domain mail is signed for (d=)", a_domain)};
constexpr CommandArg kDkimNewKey[] = {
    positional("domain", "domain", "the domain mail is signed for (d=)", a_domain),
    option("--selector", Need::optional, "the new key's selector (default: vmxYYYYMMDD, today's date)", a_selector),
    option("--algorithm", Need::optional, "rsa (2048 bits) or ed25519 (keygen: rsa; rotate: the old key's)"),
};
constexpr ValueCheck a_client{Pattern::ipv4, Pattern::ipv6, "address", "address (IPv4 or IPv6)"};
constexpr CommandArg kBanAddress[] = {positional("address", "address", "a banned client address (see: bans list)", a_client)};
constexpr CommandArg kQueueShow[] = {positional("id", "id", "a queue id, as in \"250 ... queued as ID\" or queue list")};
constexpr CommandArg kQueueRetry[] = {
    {"id", "id", ArgKind::positional, Need::optional, "an smtp-out queue id (see: queue list)", {}},
    flag("--all", "every deferred message"),
};
constexpr std::string_view kQueueRetryOneOf[] = {"id", "all"};

// ---- the table -------------------------------------------------------------------------------

constexpr CommandGroup kGroups[] = {
    {"org", "organisations and their plans and policies"},
    {"domain", "the mail domains this appliance serves"},
    {"user", "users, credentials, sessions and login history"},
    {"queue", "the mail queues: smtp-in (local delivery) and smtp-out (outbound)"},
    {"user app-password", "per-device passwords"},
    {"user totp", "time-based one-time passwords"},
    {"user sender", "addresses a user may send as besides their own (submission)"},
    {"key", "encryption keys"},
    {"secret", "secrets the appliance itself uses (a smarthost password), sealed under the master key"},
    {"dkim", "DKIM signing keys per domain (appliance secrets) and the DNS records to publish"},
    {"audit", "the hash-chained log of admin commands"},
    {"logs", "the daemon's events, kept sealed on disk and shipped to [log] ship_to"},
    {"bans", "client addresses banned for repeated failed logins (POP3, submission)"},
    {"support", "support views of a user's mail: obfuscated; a reveal needs a reason and is audited"},
    {"acme", "certificates from the ACME CA ([acme] directory), served by SNI on every TLS listener"},
};

constexpr CommandRow kCommands[] = {
    {"org add", "add an organisation", kOrgAdd},
    {"org set-plan", "change an organisation's plan", kOrgSetPlan},
    {"org list", "list organisations", no_args},
    {"org policy", "set an organisation's session, access and submission policy", kOrgPolicy},
    {"org close", "close an organisation and its users (purged after [lifecycle] closure_purge_days)", kOrgName},
    {"org reopen", "reopen a closed organisation and the users its closure closed", kOrgName},
    {"domain add", "add a local domain to an organisation", kDomainAdd},
    {"domain list", "list domains", no_args},
    {"user add", "add a user to a local domain", kUserAdd, PasswordStdin::optional},
    {"user passwd", "set a user's password (read from stdin)", kAddress, PasswordStdin::required},
    {"user list", "list users", kUserList},
    {"user disable", "disable a user (logins refused, sessions revoked)", kAddress},
    {"user enable", "enable a disabled user", kAddress},
    {"user logout", "end every session of a user and revoke its session tokens", kAddress},
    {"user close", "close an account: sessions end, logins and mail refused (purged after [lifecycle] closure_purge_days)", kAddress},
    {"user reopen", "reopen a closed account before its purge (everything comes back)", kAddress},
    {"user purge", "purge a closed account at once (--now): mail, history, credentials, its own key", kUserPurge},
    {"user sessions", "live sessions of a user on every shard", kAddress},
    {"user logins", "a user's login history", kUserLogins},
    {"user mailbox", "a user's messages (id, size, UIDL; --trash adds deleted ones)", kUserMailbox},
    {"user restore", "bring a message back from the trash", kUserRestore},
    {"user export", "write a user's mailbox to a file as mboxrd (--trash adds deleted ones)", kUserExport},
    {"support mailbox", "a user's messages with keyed hashes of sender and subject (--reveal --reason: in clear)",
     kSupportMailbox},
    {"user app-password add", "create an app password (printed once)", kAppPasswordAdd},
    {"user app-password list", "list a user's app passwords (labels only)", kAddress},
    {"user app-password revoke", "revoke one app password (--label) or all", kAppPasswordRevoke},
    {"user totp enroll", "enrol a user (prints the secret once)", kAddress},
    {"user totp disable", "remove a user's TOTP secret", kAddress},
    {"user sender add", "let a user send as another address", kSender},
    {"user sender remove", "stop a user sending as an address", kSender},
    {"user sender list", "the addresses a user may send as (their own first)", kAddress},
    {"key status", "every scope key and version", no_args},
    {"key rotate", "rotate a key (records are rewrapped in the background)", kKeyRotate, PasswordStdin::key_file,
     kKeyScopes},
    {"secret set", "set a secret (its value read from stdin, one line)", kSecretName, PasswordStdin::value},
    {"secret list", "the secrets' names and when each was set (never their values)", no_args},
    {"secret remove", "remove a secret", kSecretName},
    {"dkim keygen", "make a domain's DKIM key (it signs at once) and print its DNS record", kDkimNewKey},
    {"dkim show", "print a domain's DKIM records to publish: the active key, then retired ones", kDkimDomain},
    {"dkim rotate", "make a new DKIM key; the old one is retired but stays published a while", kDkimNewKey},
    {"queue list", "every queued message: id, sender, recipients, size, age, next attempt, last reply", no_args},
    {"queue show", "one queued message's envelope and last replies (never its content)", kQueueShow},
    {"queue retry", "deliver deferred outbound mail now: one message (ID) or --all", kQueueRetry, PasswordStdin::none,
     kQueueRetryOneOf},
    {"queue delete", "delete an outbound message without delivering it (no bounce)", kQueueShow},
    {"bans list", "banned client addresses: since, until and the failures that led to each", no_args},
    {"bans remove", "lift an address's ban (and forget its failed logins)", kBanAddress},
    {"stats", "connections and queues per shard", no_args},
    {"audit show", "print audit entries", kAuditShow},
    {"audit verify", "check the audit chain", no_args},
    {"logs show", "print events from the sealed spool (RFC 5424 lines)", kLogsShow},
    {"alarms", "the alarm rules, their state (ok, firing, unknown), value and threshold", no_args},
    {"acme status", "each certificate the appliance keeps from its ACME CA: names, state, expiry, last error", no_args},
    {"acme renew", "order certificates again now: the one naming --name, or every one", kAcmeRenew},
};

// ---- compile-time checks of the rows ------------------------------------------------------------

constexpr const CommandArg* arg_of(const CommandRow& row, std::string_view field) {
    for (const CommandArg& a : row.args)
        if (a.field == field) return &a;
    return nullptr;
}

constexpr bool is_group(std::string_view name) {
    return std::any_of(std::begin(kGroups), std::end(kGroups), [&](const CommandGroup& g) { return g.name == name; });
}

// "user app-password add" lies in "user app-password", which lies in "user".
constexpr bool parents_are_groups(std::string_view name) {
    for (std::size_t i = 0; i < name.size(); ++i)
        if (name[i] == ' ' && !is_group(name.substr(0, i))) return false;
    return true;
}

constexpr bool arg_is_consistent(const CommandArg& a) {
    const bool dashed = a.spelling.starts_with("--");
    if (a.field.empty() || a.help.empty()) return false;
    if ((a.check.pattern && a.check.subject.empty()) || (a.check.or_pattern && !a.check.pattern)) return false;
    if (a.kind == ArgKind::positional) return !dashed;  // optional only as one of exactly_one_of (row check)
    if (!dashed || a.field != a.spelling.substr(2)) return false;
    if (a.kind == ArgKind::flag) return a.need == Need::optional && !a.check.pattern;
    return a.kind == ArgKind::option || a.need == Need::optional;  // a repeatable option is never required
}

constexpr bool row_is_consistent(const CommandRow& row) {
    if (row.name.empty() || row.help.empty() || !parents_are_groups(row.name) || is_group(row.name)) return false;
    for (std::size_t i = 0; i < row.args.size(); ++i) {
        if (!arg_is_consistent(row.args[i])) return false;
        const CommandArg& a = row.args[i];
        if (a.kind == ArgKind::positional && a.need == Need::optional &&
            std::find(row.exactly_one_of.begin(), row.exactly_one_of.end(), a.field) == row.exactly_one_of.end())
            return false;
        for (std::size_t j = 0; j < i; ++j)
            if (row.args[j].field == row.args[i].field || row.args[j].spelling == row.args[i].spelling) return false;
    }
    for (std::string_view field : row.exactly_one_of) {
        const CommandArg* arg = arg_of(row, field);
        if (arg == nullptr || arg->need == Need::required) return false;
    }
    return true;
}

constexpr std::size_t first_bad_row() {
    for (std::size_t i = 0; i < std::size(kCommands); ++i) {
        if (!row_is_consistent(kCommands[i])) return i;
        for (std::size_t j = 0; j < i; ++j)
            if (kCommands[j].name == kCommands[i].name) return i;
    }
    return std::size(kCommands);
}
static_assert(first_bad_row() == std::size(kCommands), "a row of kCommands is inconsistent (see row_is_consistent)");

constexpr bool groups_are_consistent() {
    for (std::size_t i = 0; i < std::size(kGroups); ++i) {
        const auto space = kGroups[i].name.rfind(' ');
        if (space == std::string_view::npos) continue;
        const auto parent = kGroups[i].name.substr(0, space);
        if (std::none_of(kGroups, kGroups + i, [&](const CommandGroup& g) { return g.name == parent; })) return false;
    }
    return true;
}
static_assert(groups_are_consistent(), "a group of kGroups is listed before its parent");

// ---- checks of a request -----------------------------------------------------------------------

std::optional<std::string> check_value(const CommandArg& arg, std::string_view value) {
    const ValueCheck& c = arg.check;
    if (!c.pattern || matches(*c.pattern, value) || (c.or_pattern && matches(*c.or_pattern, value))) return std::nullopt;
    return fmt::format("{} {}: invalid {}", c.subject, value, c.expected.empty() ? pattern_name(*c.pattern) : c.expected);
}

std::optional<std::string> check_exactly_one(const CommandRow& row, const AdminRequest& request) {
    if (row.exactly_one_of.empty()) return std::nullopt;
    std::size_t given = 0;
    std::string spellings;
    for (std::string_view field : row.exactly_one_of) {
        given += request.has(field) ? 1 : 0;
        spellings += fmt::format("{}{}", spellings.empty() ? "" : ", ", find_arg(row, field)->spelling);
    }
    if (given == 1) return std::nullopt;
    return fmt::format("{}: give exactly one of {}", row.name, spellings);
}

std::string field_list(const CommandRow& row) {
    std::string out;
    for (const CommandArg& a : row.args) out += fmt::format("{}{}", out.empty() ? "" : ", ", a.field);
    return out.empty() ? std::string("none") : out;
}

}  // namespace

std::span<const CommandRow> command_table() noexcept { return kCommands; }
std::span<const CommandGroup> command_groups() noexcept { return kGroups; }

const CommandRow* find_command(std::string_view name) noexcept {
    for (const CommandRow& row : kCommands)
        if (row.name == name) return &row;
    return nullptr;
}

const CommandArg* find_arg(const CommandRow& row, std::string_view field) noexcept { return arg_of(row, field); }

std::optional<std::string> check_values(const CommandRow& row, const AdminRequest& request) {
    for (const auto& [name, value] : request.fields)
        if (const CommandArg* arg = find_arg(row, name))
            if (auto problem = check_value(*arg, value)) return problem;
    return check_exactly_one(row, request);
}

std::optional<std::string> check_request(const AdminRequest& request) {
    const CommandRow* row = find_command(request.command);
    if (row == nullptr) return fmt::format("unknown command: {}", request.command);
    for (std::size_t i = 0; i < request.fields.size(); ++i) {
        const std::string& name = request.fields[i].first;
        const CommandArg* arg = find_arg(*row, name);
        if (arg == nullptr) return fmt::format("unknown field {} (known: {})", name, field_list(*row));
        const auto earlier = request.fields.begin() + static_cast<std::ptrdiff_t>(i);
        if (arg->kind != ArgKind::repeatable &&
            std::any_of(request.fields.begin(), earlier, [&](const auto& f) { return f.first == name; }))
            return fmt::format("field {} given more than once", name);
    }
    for (const CommandArg& arg : row->args)
        if (arg.need == Need::required && !request.has(arg.field))
            return fmt::format("missing required field {}", arg.field);
    if (row->password == PasswordStdin::none && !request.secret.empty())
        return std::string("this command takes no password");
    return std::nullopt;
}

}  // namespace vmx
