// vaultmx: the admin CLI. `config check` and `init` run locally; every other command is parsed and
// checked here, sent to the daemon over the admin socket ([admin] socket), and its answer printed.
// Exit status: 0 done, 1 refused (fix the request), 2 usage error, 3 the daemon could not do it or
// could not be reached, 4 not permitted to use the admin socket.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <deque>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "appliance/admin/client.h"
#include "appliance/config/config.h"
#include "appliance/admin/init_command.h"
#include "core/patterns.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_failed = 3;
constexpr int exit_forbidden = 4;
constexpr int admin_timeout_ms = 60'000;  // password hashing and key work take a moment

// One command sent to the daemon: its name on the wire and how its fields are collected.
struct Remote {
    std::string command;
    CLI::App* app = nullptr;
    std::function<void(AdminRequest&)> fields;  // adds the parsed values
    std::function<std::string()> check;         // "" or what is wrong with the arguments
    bool wants_password = false;                // --password-stdin given
};

std::string check_pattern(Pattern p, const std::string& value, const std::string& what) {
    if (matches(p, value)) return {};
    return what + " " + value + ": invalid " + std::string(pattern_name(p));
}

// The password from stdin: at most 1024 bytes, one trailing newline removed. False (with `problem`
// set) when there is none or it is too long.
bool read_password(std::string& secret, std::string& problem) {
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return problem = "cannot read the password from stdin", false;
        if (n == 0) break;
        secret.append(buf, static_cast<std::size_t>(n));
        if (secret.size() > 1026) return problem = "password: longer than 1024 bytes", false;
    }
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty() || secret.size() > 1024) return problem = "password: none on stdin (or longer than 1024 bytes)", false;
    return true;
}

struct Cli {
    CLI::App app{"vaultmx: administer a vaultmx mail gateway"};
    std::string config_path = "/etc/vaultmx/vaultmx.toml";
    bool json = false;
    std::deque<Remote> remotes;  // a deque: references stay valid as commands are added

    // Values the subcommands parse into (one command runs per invocation, so they may share).
    std::string name, plan, domain, org, address, label, quota, session_max, since;
    std::vector<std::string> nets;
    bool require_mfa = false, no_require_mfa = false, allow_any_net = false, password_stdin = false;
    bool shared = false, master = false, failed_only = false, with_trash = false;
    std::string message_id;

    CLI::App* group(CLI::App& parent, const std::string& n, const std::string& help) {
        auto* g = parent.add_subcommand(n, help);
        g->require_subcommand(1);
        return g;
    }
    Remote& remote(CLI::App* parent, const std::string& n, const std::string& help, const std::string& command) {
        remotes.push_back({command, parent->add_subcommand(n, help), {}, {}, false});
        return remotes.back();
    }
    void address_arg(Remote& r) {
        r.app->add_option("address", address, "the user's address")->required();
        r.check = [this] { return check_pattern(Pattern::address, address, "address"); };
        r.fields = [this](AdminRequest& q) { q.fields.emplace_back("address", address); };
    }

    void define_orgs() {
        auto* g = group(app, "org", "organisations and their plans and policies");
        auto& add = remote(g, "add", "add an organisation", "org add");
        add.app->add_option("name", name, "organisation name")->required();
        add.app->add_option("--plan", plan, "starter, pro or ultimate")->required();
        add.check = [this] { return check_pattern(Pattern::org_name, name, "organisation"); };
        add.fields = [this](AdminRequest& q) { q.fields = {{"name", name}, {"plan", plan}}; };
        auto& set_plan = remote(g, "set-plan", "change an organisation's plan", "org set-plan");
        set_plan.app->add_option("name", name, "organisation name")->required();
        set_plan.app->add_option("plan", plan, "starter, pro or ultimate")->required();
        set_plan.check = add.check;
        set_plan.fields = add.fields;
        remote(g, "list", "list organisations", "org list");
        auto& policy = remote(g, "policy", "set an organisation's session and access policy", "org policy");
        policy.app->add_option("name", name, "organisation name")->required();
        policy.app->add_option("--session-max", session_max, "longest session, e.g. 8h (0: no limit)");
        policy.app->add_flag("--require-mfa", require_mfa, "require a second factor (POP3: app passwords only)");
        policy.app->add_flag("--no-require-mfa", no_require_mfa, "stop requiring a second factor");
        policy.app->add_option("--allow-net", nets, "client networks allowed to log in (CIDR; repeatable)");
        policy.app->add_flag("--allow-any-net", allow_any_net, "allow logins from any network");
        policy.check = [this] {
            if (auto e = check_pattern(Pattern::org_name, name, "organisation"); !e.empty()) return e;
            for (const auto& n : nets)
                if (!matches(Pattern::ipv4_cidr, n) && !matches(Pattern::ipv6_cidr, n))
                    return "--allow-net " + n + ": invalid network (an IPv4 or IPv6 CIDR)";
            return std::string();
        };
        policy.fields = [this](AdminRequest& q) {
            q.fields.emplace_back("name", name);
            if (!session_max.empty()) q.fields.emplace_back("session-max", session_max);
            if (require_mfa) q.fields.emplace_back("require-mfa", "1");
            if (no_require_mfa) q.fields.emplace_back("no-require-mfa", "1");
            if (allow_any_net) q.fields.emplace_back("allow-any-net", "1");
            for (const auto& n : nets) q.fields.emplace_back("allow-net", n);
        };
    }

    void define_domains() {
        auto* g = group(app, "domain", "the mail domains this appliance serves");
        auto& add = remote(g, "add", "add a local domain to an organisation", "domain add");
        add.app->add_option("domain", domain, "domain name")->required();
        add.app->add_option("--org", org, "the owning organisation")->required();
        add.check = [this] {
            if (auto e = check_pattern(Pattern::domain, domain, "domain"); !e.empty()) return e;
            return check_pattern(Pattern::org_name, org, "organisation");
        };
        add.fields = [this](AdminRequest& q) { q.fields = {{"domain", domain}, {"org", org}}; };
        remote(g, "list", "list domains", "domain list");
    }

    void define_users() {
        auto* g = group(app, "user", "users, credentials, sessions and login history");
        auto& add = remote(g, "add", "add a user to a local domain", "user add");
        address_arg(add);
        add.app->add_flag("--password-stdin", password_stdin, "read the password from stdin");
        add.app->add_option("--quota", quota, "mailbox quota, e.g. 2G");
        add.fields = [this](AdminRequest& q) {
            q.fields.emplace_back("address", address);
            if (!quota.empty()) q.fields.emplace_back("quota", quota);
        };
        add.wants_password = true;
        auto& passwd = remote(g, "passwd", "set a user's password (read from stdin)", "user passwd");
        address_arg(passwd);
        passwd.app->add_flag("--password-stdin", password_stdin, "read the password from stdin")->required();
        passwd.wants_password = true;
        auto& list = remote(g, "list", "list users", "user list");
        list.app->add_option("--domain", domain, "only this domain's users");
        list.check = [this] { return domain.empty() ? std::string() : check_pattern(Pattern::domain, domain, "domain"); };
        list.fields = [this](AdminRequest& q) {
            if (!domain.empty()) q.fields.emplace_back("domain", domain);
        };
        address_arg(remote(g, "disable", "disable a user (logins refused, sessions revoked)", "user disable"));
        address_arg(remote(g, "enable", "enable a disabled user", "user enable"));
        address_arg(remote(g, "logout", "end every session of a user and revoke its session tokens", "user logout"));
        address_arg(remote(g, "sessions", "live sessions of a user on every shard", "user sessions"));
        auto& logins = remote(g, "logins", "a user's login history", "user logins");
        address_arg(logins);
        logins.app->add_option("--since", since, "only since this time (unix seconds or YYYY-MM-DD)");
        logins.app->add_flag("--failed", failed_only, "only failed attempts");
        logins.fields = [this](AdminRequest& q) {
            q.fields.emplace_back("address", address);
            if (!since.empty()) q.fields.emplace_back("since", since);
            if (failed_only) q.fields.emplace_back("failed", "1");
        };
        auto& box = remote(g, "mailbox", "a user's messages (id, size, UIDL; --trash adds deleted ones)", "user mailbox");
        address_arg(box);
        box.app->add_flag("--trash", with_trash, "also list messages in the trash");
        box.fields = [this](AdminRequest& q) {
            q.fields.emplace_back("address", address);
            if (with_trash) q.fields.emplace_back("trash", "1");
        };
        auto& restore = remote(g, "restore", "bring a message back from the trash", "user restore");
        address_arg(restore);
        restore.app->add_option("message_id", message_id, "the message's id (see: user mailbox --trash)")->required();
        restore.fields = [this](AdminRequest& q) { q.fields = {{"address", address}, {"id", message_id}}; };
        define_app_passwords(g);
        define_totp(g);
    }

    void define_app_passwords(CLI::App* users) {
        auto* g = group(*users, "app-password", "per-device passwords");
        auto& add = remote(g, "add", "create an app password (printed once)", "user app-password add");
        address_arg(add);
        add.app->add_option("--label", label, "what it is for, e.g. phone")->required();
        add.check = [this] {
            if (auto e = check_pattern(Pattern::address, address, "address"); !e.empty()) return e;
            return check_pattern(Pattern::label, label, "--label");
        };
        add.fields = [this](AdminRequest& q) { q.fields = {{"address", address}, {"label", label}}; };
        address_arg(remote(g, "list", "list a user's app passwords (labels only)", "user app-password list"));
        auto& revoke = remote(g, "revoke", "revoke one app password (--label) or all", "user app-password revoke");
        address_arg(revoke);
        revoke.app->add_option("--label", label, "the one to revoke");
        revoke.fields = [this](AdminRequest& q) {
            q.fields.emplace_back("address", address);
            if (!label.empty()) q.fields.emplace_back("label", label);
        };
    }

    void define_totp(CLI::App* users) {
        auto* g = group(*users, "totp", "time-based one-time passwords");
        address_arg(remote(g, "enroll", "enrol a user (prints the secret once)", "user totp enroll"));
        address_arg(remote(g, "disable", "remove a user's TOTP secret", "user totp disable"));
    }

    void define_keys_and_more() {
        auto* g = group(app, "key", "encryption keys");
        remote(g, "status", "every scope key and version", "key status");
        auto& rotate = remote(g, "rotate", "rotate a key (records are rewrapped in the background)", "key rotate");
        rotate.app->add_flag("--shared", shared, "the key of starter organisations");
        rotate.app->add_option("--org", org, "a pro organisation's key");
        rotate.app->add_option("--user", address, "an ultimate user's key");
        rotate.app->add_flag("--master", master, "the master key");
        rotate.check = [this] {
            const int chosen = int{shared} + int{master} + int{!org.empty()} + int{!address.empty()};
            if (chosen != 1) return std::string("key rotate: give exactly one of --shared, --org, --user, --master");
            return std::string();
        };
        rotate.fields = [this](AdminRequest& q) {
            if (shared) q.fields.emplace_back("shared", "1");
            if (master) q.fields.emplace_back("master", "1");
            if (!org.empty()) q.fields.emplace_back("org", org);
            if (!address.empty()) q.fields.emplace_back("user", address);
        };
        remote(&app, "stats", "connections and queues per shard", "stats");
        auto* audit = group(app, "audit", "the hash-chained log of admin commands");
        auto& show = remote(audit, "show", "print audit entries", "audit show");
        show.app->add_option("--since", since, "only since this time (unix seconds or YYYY-MM-DD)");
        show.fields = [this](AdminRequest& q) {
            if (!since.empty()) q.fields.emplace_back("since", since);
        };
        remote(audit, "verify", "check the audit chain", "audit verify");
    }
};

int run_remote(const Config& config, Remote& r, bool json, bool password_stdin) {
    if (r.check) {
        if (auto problem = r.check(); !problem.empty()) {
            std::fprintf(stderr, "vaultmx: %s: %s\n", r.command.c_str(), problem.c_str());
            return exit_usage;
        }
    }
    AdminRequest request;
    request.command = r.command;
    request.json = json;
    if (r.fields) r.fields(request);
    if (r.wants_password && password_stdin) {
        std::string problem;
        if (!read_password(request.secret, problem)) {
            std::fprintf(stderr, "vaultmx: %s: %s\n", r.command.c_str(), problem.c_str());
            return exit_usage;
        }
    }
    auto reply = admin_call(config.admin_socket, request, admin_timeout_ms);
    if (!reply) {
        std::fprintf(stderr, "vaultmx: %s: cannot reach the daemon at %s: %s%s\n", r.command.c_str(),
                     config.admin_socket.c_str(), reply.error().message().c_str(),
                     reply.error() == std::errc::no_such_file_or_directory || reply.error() == std::errc::connection_refused
                         ? " (is vaultmxd running?)"
                         : "");
        return exit_failed;
    }
    if (reply->status == AdminStatus::ok) {
        std::fputs(reply->text.c_str(), stdout);
        return 0;
    }
    std::string text = reply->text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::fprintf(stderr, "vaultmx: %s: %s\n", r.command.c_str(), text.c_str());
    switch (reply->status) {
        case AdminStatus::refused: return exit_refused;
        case AdminStatus::forbidden: return exit_forbidden;
        default: return exit_failed;
    }
}

int run(int argc, char** argv) {
    Cli cli;
    CLI::App& app = cli.app;
    app.require_subcommand(1);
    app.fallthrough();  // -c and --json may follow the command words too
    app.add_option("-c,--config", cli.config_path, "configuration file (TOML)");
    app.add_flag("--json", cli.json, "machine-readable output for listings");
    app.set_version_flag("--version", VMX_VERSION);
    app.footer("Exit status: 0 done, 1 refused, 2 usage error, 3 daemon failed or unreachable, 4 not permitted.");

    auto* config_cmd = cli.group(app, "config", "configuration commands");
    auto* check = config_cmd->add_subcommand("check", "validate the configuration and print the effective values");
    auto* init = app.add_subcommand("init", "create the data folders and the master key (and a TLS certificate) if absent");
    bool self_signed = false;
    init->add_flag("--self-signed", self_signed, "also create a self-signed certificate at [tls] cert/key if absent");
    cli.define_orgs();
    cli.define_domains();
    cli.define_users();
    cli.define_keys_and_more();

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "vaultmx: %s (see vaultmx --help)\n", e.what());
        return exit_usage;
    }

    const auto loaded = load_config_or_report("vaultmx", cli.config_path);
    if (!loaded) return exit_usage;
    const Config& config = *loaded;
    if (check->parsed()) {
        std::fputs(describe_config(config).c_str(), stdout);
        return 0;
    }
    if (init->parsed()) {
        const auto report = run_init(config, self_signed ? SelfSigned::yes : SelfSigned::no);
        for (const auto& line : report.done) std::printf("%s\n", line.c_str());
        if (!report.error.empty()) {
            std::fprintf(stderr, "vaultmx: init: %s\n", report.error.c_str());
            return exit_refused;
        }
        return 0;
    }
    for (Remote& r : cli.remotes)
        if (r.app->parsed()) return run_remote(config, r, cli.json, cli.password_stdin);
    std::fprintf(stderr, "vaultmx: no command given (see vaultmx --help)\n");
    return exit_usage;
}

}  // namespace
}  // namespace vmx

int main(int argc, char** argv) { return vmx::run(argc, argv); }
