// The admin command table holds the CLI and the daemon together: every row has one daemon handler
// and every handler a row; the command line built from a row sends exactly the row's fields and
// the daemon's row check accepts them; the row check refuses other shapes with one clear line; and
// the spellings admins and scripts already use still produce the same requests.
#include "appliance/admin/command_table.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "appliance/admin/command_registry.h"
#include "appliance/cli/admin_command_line.h"

namespace vmx {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// vaultmx's root as its main sets it up, the table's commands under it.
struct CommandLine {
    CommandLine() {
        app.require_subcommand(1);
        app.fallthrough();
        app.add_option("-c,--config", config_path, "configuration file (TOML)");
        app.add_flag("--json", json, "machine-readable output for listings");
        commands = std::make_unique<AdminCommandLine>(app);  // after the root's settings, as in main
    }
    void parse(std::vector<std::string> words) {
        std::vector<const char*> argv{"vaultmx"};
        for (const auto& w : words) argv.push_back(w.c_str());
        app.parse(static_cast<int>(argv.size()), argv.data());
    }

    CLI::App app{"vaultmx"};
    std::string config_path;
    bool json = false;
    std::unique_ptr<AdminCommandLine> commands;
};

// A value that matches `p`, for a sample command line.
std::string sample(std::optional<Pattern> p) {
    if (!p) return "5";
    switch (*p) {
        case Pattern::address: return "ann@example.test";
        case Pattern::org_name: return "Example Org";
        case Pattern::domain: return "example.test";
        case Pattern::label: return "phone";
        case Pattern::ipv4_cidr: return "10.0.0.0/8";
        case Pattern::ipv6_cidr: return "2001:db8::/32";
        case Pattern::ipv4: return "192.0.2.1";
        case Pattern::ipv6: return "2001:db8::1";
        case Pattern::dkim_selector: return "vmx20261206";
        default: ADD_FAILURE() << "no sample for pattern " << pattern_name(*p); return "";
    }
}

std::vector<std::string> words_of(std::string_view name) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start <= name.size();) {
        const auto space = std::min(name.find(' ', start), name.size());
        out.emplace_back(name.substr(start, space - start));
        start = space + 1;
    }
    return out;
}

// The row's command line with every argument given (a repeatable one twice, in both its forms),
// and the fields it must send.
std::pair<std::vector<std::string>, Fields> sample_line(const CommandRow& row) {
    std::vector<std::string> argv = words_of(row.name);
    Fields fields;
    // A `value` row reads stdin without being asked (secret set); the others need the flag.
    if (row.password == PasswordStdin::optional || row.password == PasswordStdin::required)
        argv.emplace_back("--password-stdin");
    for (const CommandArg& a : row.args) {
        const std::string field(a.field), spelling(a.spelling);
        switch (a.kind) {
            case ArgKind::positional:
                argv.push_back(sample(a.check.pattern));
                fields.emplace_back(field, argv.back());
                break;
            case ArgKind::option:
                argv.insert(argv.end(), {spelling, sample(a.check.pattern)});
                fields.emplace_back(field, argv.back());
                break;
            case ArgKind::repeatable:
                for (auto p : {a.check.pattern, a.check.or_pattern ? a.check.or_pattern : a.check.pattern}) {
                    argv.insert(argv.end(), {spelling, sample(p)});
                    fields.emplace_back(field, argv.back());
                }
                break;
            case ArgKind::flag:
                argv.push_back(spelling);
                fields.emplace_back(field, "1");
                break;
        }
    }
    return {argv, fields};
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

AdminRequest request_of(std::string_view command, Fields fields, std::string secret = {}) {
    AdminRequest r;
    r.command = std::string(command);
    r.fields = std::move(fields);
    r.secret = std::move(secret);
    return r;
}

TEST(CommandTableTest, EveryRowHasExactlyOneHandlerAndEveryHandlerARow) {
    for (const CommandRow& row : command_table()) {
        const auto handlers = command_handlers();
        const auto count = std::count_if(handlers.begin(), handlers.end(),
                                         [&](const CommandHandler& h) { return h.command == row.name; });
        EXPECT_EQ(count, 1) << row.name;
        const CommandHandler* h = find_handler(row.name);
        ASSERT_NE(h, nullptr) << row.name;
        EXPECT_NE(h->run == nullptr, h->run_async == nullptr) << row.name << ": one of run, run_async";
    }
    for (const CommandHandler& h : command_handlers()) EXPECT_NE(find_command(h.command), nullptr) << h.command;
    EXPECT_EQ(command_handlers().size(), command_table().size());
}

TEST(CommandTableTest, EachRowsCommandLineSendsExactlyItsFieldsAndTheDaemonAcceptsThem) {
    for (const CommandRow& row : command_table()) {
        SCOPED_TRACE(std::string(row.name));
        const auto [argv, fields] = sample_line(row);
        CommandLine cli;
        ASSERT_NO_THROW(cli.parse(argv));
        ASSERT_EQ(cli.commands->parsed(), &row);
        // A key file is read by the command itself (key rotate --master), never from stdin.
        EXPECT_EQ(cli.commands->password_stdin(), row.password != PasswordStdin::none && row.password != PasswordStdin::key_file);
        AdminRequest request = cli.commands->request();
        EXPECT_EQ(request.command, row.name);
        EXPECT_EQ(request.fields, fields);
        if (row.password != PasswordStdin::none) request.secret = "a password";
        EXPECT_EQ(check_request(request), std::nullopt);
        if (row.exactly_one_of.empty()) {
            EXPECT_EQ(check_values(row, request), std::nullopt);
        } else {
            EXPECT_NE(check_values(row, request), std::nullopt);  // every one of them given: too many
        }
    }
}

TEST(CommandTableTest, TheDaemonRefusesOtherShapesWithOneLine) {
    EXPECT_EQ(check_request(request_of("user frobnicate", {})), "unknown command: user frobnicate");
    EXPECT_EQ(check_request(request_of("", {})), "unknown command: ");
    EXPECT_EQ(check_request(request_of("user add", {{"address", "ann@example.test"}, {"colour", "red"}})),
              "unknown field colour (known: address, quota)");
    EXPECT_EQ(check_request(request_of("stats", {{"shard", "1"}})), "unknown field shard (known: none)");
    EXPECT_EQ(check_request(request_of("org add", {{"name", "Example Org"}})), "missing required field plan");
    EXPECT_EQ(check_request(request_of("user restore", {{"address", "ann@example.test"}})), "missing required field id");
    EXPECT_EQ(check_request(request_of("user add", {{"address", "a@example.test"}, {"address", "b@example.test"}})),
              "field address given more than once");
    EXPECT_EQ(check_request(request_of("org add", {{"name", "A"}, {"plan", "pro"}}, "secret")),
              "this command takes no password");
    // What is allowed: a repeatable field twice, a password where one is read, an optional field left out.
    EXPECT_EQ(check_request(request_of("org policy", {{"name", "A"}, {"allow-net", "10.0.0.0/8"}, {"allow-net", "::1/128"}})),
              std::nullopt);
    EXPECT_EQ(check_request(request_of("user passwd", {{"address", "a@example.test"}}, "secret")), std::nullopt);
    EXPECT_EQ(check_request(request_of("user add", {{"address", "a@example.test"}})), std::nullopt);
    EXPECT_EQ(check_request(request_of("key rotate", {})), std::nullopt);  // the handler says which key it needs
}

// Each example as today's admins type it, and the fields the CLI has always sent for it.
TEST(CommandTableTest, TodaysSpellingsSendTodaysFields) {
    const std::vector<std::pair<std::vector<std::string>, Fields>> examples = {
        {{"user", "add", "ann@example.test", "--password-stdin", "--quota", "2G"},
         {{"address", "ann@example.test"}, {"quota", "2G"}}},
        {{"user", "add", "ben@example.test"}, {{"address", "ben@example.test"}}},
        {{"key", "rotate", "--org", "Example Org"}, {{"org", "Example Org"}}},
        {{"key", "rotate", "--user", "ann@example.test"}, {{"user", "ann@example.test"}}},
        {{"key", "rotate", "--shared"}, {{"shared", "1"}}},
        {{"org", "policy", "Org", "--allow-net", "10.0.0.0/8", "--allow-net", "::1/128", "--require-mfa"},
         {{"name", "Org"}, {"require-mfa", "1"}, {"allow-net", "10.0.0.0/8"}, {"allow-net", "::1/128"}}},
        {{"org", "policy", "Org", "--allow-net", "10.0.0.0/8", "--allow-any-net", "--session-max", "8h", "--no-require-mfa"},
         {{"name", "Org"}, {"session-max", "8h"}, {"no-require-mfa", "1"}, {"allow-any-net", "1"}, {"allow-net", "10.0.0.0/8"}}},
        {{"user", "restore", "ann@example.test", "5"}, {{"address", "ann@example.test"}, {"id", "5"}}},
        {{"user", "logins", "ann@example.test", "--since", "2026-01-01", "--failed"},
         {{"address", "ann@example.test"}, {"since", "2026-01-01"}, {"failed", "1"}}},
        {{"org", "add", "Example Org", "--plan", "pro"}, {{"name", "Example Org"}, {"plan", "pro"}}},
        {{"org", "set-plan", "Example Org", "ultimate"}, {{"name", "Example Org"}, {"plan", "ultimate"}}},
        {{"domain", "add", "example.test", "--org", "Example Org"}, {{"domain", "example.test"}, {"org", "Example Org"}}},
        {{"user", "list", "--domain", "example.test"}, {{"domain", "example.test"}}},
        {{"user", "list"}, {}},
        {{"user", "mailbox", "ann@example.test", "--trash"}, {{"address", "ann@example.test"}, {"trash", "1"}}},
        {{"user", "app-password", "add", "ann@example.test", "--label", "phone"},
         {{"address", "ann@example.test"}, {"label", "phone"}}},
        {{"user", "app-password", "revoke", "ann@example.test"}, {{"address", "ann@example.test"}}},
        {{"user", "app-password", "revoke", "ann@example.test", "--label", ""}, {{"address", "ann@example.test"}}},
        {{"user", "totp", "enroll", "ann@example.test"}, {{"address", "ann@example.test"}}},
        {{"audit", "show", "--since", "1790000000"}, {{"since", "1790000000"}}},
        {{"stats"}, {}},
        {{"secret", "set", "relayhost"}, {{"name", "relayhost"}}},  // the value: always stdin, no flag
        {{"secret", "remove", "relayhost"}, {{"name", "relayhost"}}},
        {{"secret", "list"}, {}},
        {{"user", "sender", "add", "ann@example.test", "sales@example.test"},
         {{"address", "ann@example.test"}, {"sender", "sales@example.test"}}},
        {{"user", "sender", "remove", "ann@example.test", "sales@example.test"},
         {{"address", "ann@example.test"}, {"sender", "sales@example.test"}}},
        {{"user", "sender", "list", "ann@example.test"}, {{"address", "ann@example.test"}}},
        {{"org", "policy", "Org", "--messages-per-hour", "200", "--recipients-per-hour", "0"},
         {{"name", "Org"}, {"messages-per-hour", "200"}, {"recipients-per-hour", "0"}}},
        {{"dkim", "keygen", "example.test"}, {{"domain", "example.test"}}},
        {{"dkim", "keygen", "example.test", "--selector", "s1", "--algorithm", "ed25519"},
         {{"domain", "example.test"}, {"selector", "s1"}, {"algorithm", "ed25519"}}},
        {{"dkim", "show", "example.test"}, {{"domain", "example.test"}}},
        {{"dkim", "rotate", "example.test", "--algorithm", "rsa"}, {{"domain", "example.test"}, {"algorithm", "rsa"}}},
    };
    for (const auto& [argv, fields] : examples) {
        SCOPED_TRACE(joined(argv));
        CommandLine cli;
        ASSERT_NO_THROW(cli.parse(argv));
        ASSERT_NE(cli.commands->parsed(), nullptr);
        const AdminRequest request = cli.commands->request();
        EXPECT_EQ(request.fields, fields);
        EXPECT_EQ(check_values(*cli.commands->parsed(), request), std::nullopt);
        EXPECT_EQ(check_request(request), std::nullopt);
    }
}

TEST(CommandTableTest, RootOptionsMayFollowTheCommandWords) {
    CommandLine cli;
    cli.parse({"user", "passwd", "ann@example.test", "--password-stdin", "--json", "-c", "/tmp/v.toml"});
    ASSERT_NE(cli.commands->parsed(), nullptr);
    EXPECT_EQ(cli.commands->parsed()->name, "user passwd");
    EXPECT_TRUE(cli.commands->password_stdin());
    EXPECT_TRUE(cli.json);
    EXPECT_EQ(cli.config_path, "/tmp/v.toml");
}

// The one-line problems today's CLI prints (after "vaultmx: COMMAND: ") with exit status 2.
TEST(CommandTableTest, TheClisValueChecksSayWhatIsWrong) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> examples = {
        {{"user", "add", "bad@@second.test"}, "address bad@@second.test: invalid address"},
        {{"org", "add", "Bad!", "--plan", "pro"}, "organisation Bad!: invalid organisation name"},
        {{"org", "policy", "Second Org", "--allow-net", "10.0.0.1/8"},
         "--allow-net 10.0.0.1/8: invalid network (an IPv4 or IPv6 CIDR)"},
        {{"domain", "add", "x..test", "--org", "Example Org"}, "domain x..test: invalid domain"},
        {{"domain", "add", "x.test", "--org", "Bad!"}, "organisation Bad!: invalid organisation name"},
        {{"user", "list", "--domain", "a_b.test"}, "domain a_b.test: invalid domain"},
        {{"user", "app-password", "add", "ann@example.test", "--label", "a/b"}, "--label a/b: invalid label"},
        {{"user", "sender", "add", "ann@example.test", "bad@@x.test"}, "sender bad@@x.test: invalid address"},
        {{"key", "rotate"}, "key rotate: give exactly one of --shared, --org, --user, --appliance, --master"},
        {{"dkim", "keygen", "example.test", "--selector", "Bad_1"},
         "--selector Bad_1: invalid selector (1 to 63 of a-z 0-9 -, not first -)"},
        {{"dkim", "show", "x..test"}, "domain x..test: invalid domain"},
        {{"key", "rotate", "--shared", "--master"}, "key rotate: give exactly one of --shared, --org, --user, --appliance, --master"},
    };
    for (const auto& [argv, problem] : examples) {
        SCOPED_TRACE(problem);
        CommandLine cli;
        ASSERT_NO_THROW(cli.parse(argv));
        ASSERT_NE(cli.commands->parsed(), nullptr);
        EXPECT_EQ(check_values(*cli.commands->parsed(), cli.commands->request()), problem);
    }
}

TEST(CommandTableTest, TheCommandLineRefusesWhatCli11Refused) {
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {"user"},                                   // a group needs one of its commands
             {"user", "app-password"},
             {"user", "sender", "add", "ann@example.test"},  // the sender is required
             {"user", "passwd", "ann@example.test"},     // --password-stdin is required here
             {"user", "add"},                            // the address is required
             {"org", "add", "Example Org"},              // so is --plan
             {"org", "list", "--password-stdin"},        // only where a password is read
             {"user", "add", "a@example.test", "--colour", "red"},
         }) {
        CommandLine cli;
        EXPECT_THROW(cli.parse(argv), CLI::ParseError) << joined(argv);
    }
}

}  // namespace
}  // namespace vmx
