// The dkim admin commands (keygen, show, rotate) run as the daemon runs them (run_admin_command)
// over a real KeyService and a real audit log: the records they print (split at 255 bytes, p= the
// stored key's), what they store, the daemon told of each changed secret, retired keys kept for
// dkim_retire_days and then removed, each refusal, and audit entries without key material.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/keys/key_service.h"
#include "appliance/mailauth/dkim_keyring.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using crypto::DkimAlgorithm;
using testing::kTestStart;  // 2027-01-15T08:00:00Z
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr std::int64_t hour_s = 3600;
constexpr std::int64_t day_s = 86'400;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < text.size();) {
        const auto end = text.find('\n', at);
        out.push_back(text.substr(at, end - at));
        at = end == std::string::npos ? text.size() : end + 1;
    }
    return out;
}

// `NAME TXT "a" "b"` -> {NAME, "ab"}, checking that each quoted string holds at most 255 bytes and
// that nothing else is on the line.
std::pair<std::string, std::string> parse_record(const std::string& line) {
    const auto txt = line.find(" TXT ");
    if (txt == std::string::npos) return {};
    std::string joined;
    std::size_t at = txt + 5;
    while (at < line.size()) {
        EXPECT_EQ(line[at], '"') << line;
        const auto close = line.find('"', at + 1);
        EXPECT_NE(close, std::string::npos) << line;
        if (close == std::string::npos) return {};
        EXPECT_LE(close - at - 1, 255u) << line;
        joined += line.substr(at + 1, close - at - 1);
        at = close + 1;
        if (at < line.size()) {
            EXPECT_EQ(line[at], ' ') << line;
            ++at;
        }
    }
    return {line.substr(0, txt), joined};
}

struct DkimCommandsTest : ::testing::Test {
    DkimCommandsTest() {
        auto opened = open_keys(*tenant.layout, testing::fixed_master_key(0x66), "test master key");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        keys = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
        keys->on_secret_changed([this](std::string_view name) { changed.emplace_back(name); });
        auto env = store::Env::open(tenant.layout->path(store::GlobalKind::audit),
                                    tenant.layout->env_options(store::GlobalKind::audit));
        VMX_ASSERT(env);
        audit_env = std::move(*env);
        auto log = AuditLog::open(*audit_env, tenant.keys, AuditCreate::if_empty);
        VMX_ASSERT(log);
        audit = std::make_unique<AuditLog>(std::move(*log));
        context = std::make_unique<AdminContext>(AdminContext{*tenant.directory, *keys, hasher});
        context->now_unix = [this] { return now; };
        context->audit = audit.get();
    }

    AdminReply run(std::string command, Fields fields, bool json = false, std::string secret = {}) {
        AdminRequest r;
        r.command = std::move(command);
        r.fields = std::move(fields);
        r.json = json;
        r.secret = std::move(secret);
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*context, r, AdminPeer{}, [&reply](AdminReply done) { reply = std::move(done); });
        return reply;
    }
    AdminReply ok(std::string command, Fields fields, bool json = false) {
        AdminReply reply = run(std::move(command), std::move(fields), json);
        EXPECT_EQ(reply.status, AdminStatus::ok) << reply.text;
        return reply;
    }
    std::optional<DkimKey> stored(std::string_view domain, std::string_view selector) {
        const auto name = dkim_secret_name(domain, selector);
        VMX_ASSERT(name);
        auto value = keys->appliance_secret(*name);
        VMX_ASSERT(value);
        if (!*value) return std::nullopt;
        auto key = decode_dkim_key(*name, **value);
        VMX_ASSERT(key);
        return std::move(*key);
    }
    // The record text a verifier should find for a stored key.
    std::string record_of(std::string_view domain, std::string_view selector) {
        auto key = stored(domain, selector);
        VMX_ASSERT(key);
        auto p = crypto::dkim_public_key(key->algorithm, key->private_pem.view());
        VMX_ASSERT(p);
        return crypto::dkim_txt_record(key->algorithm, *p);
    }
    std::vector<AuditEntry> audit_entries() {
        auto entries = audit->read(0, 100);
        VMX_ASSERT(entries);
        return *entries;
    }

    testing::TestTenant tenant;
    std::unique_ptr<KeyService> keys;
    std::unique_ptr<store::Env> audit_env;
    std::unique_ptr<AuditLog> audit;
    InlineHasher hasher{crypto::Argon2Params{8, 1, 1}};
    std::unique_ptr<AdminContext> context;
    std::int64_t now = kTestStart;
    std::vector<std::string> changed;
};

TEST_F(DkimCommandsTest, KeygenPrintsTheRecordOfTheStoredKey) {
    AdminReply made = ok("dkim keygen", {{"domain", "Example.ORG"}});
    EXPECT_EQ(changed, std::vector<std::string>{"dkim/example.org/vmx20270115"});
    auto key = stored("example.org", "vmx20270115");
    ASSERT_TRUE(key);
    EXPECT_EQ(key->algorithm, DkimAlgorithm::rsa_sha256);  // the default
    EXPECT_EQ(key->created_unix, kTestStart);
    EXPECT_EQ(key->retired_unix, 0);
    const auto lines = lines_of(made.text);
    ASSERT_EQ(lines.size(), 3u) << made.text;
    const auto [name, record] = parse_record(lines[0]);
    EXPECT_EQ(name, "vmx20270115._domainkey.example.org");
    EXPECT_EQ(record, record_of("example.org", "vmx20270115"));
    EXPECT_TRUE(record.starts_with("v=DKIM1; k=rsa; p=MII")) << record;
    ASSERT_GT(record.size(), 255u);  // 410 bytes: two strings
    EXPECT_EQ(lines[0], "vmx20270115._domainkey.example.org TXT \"" + record.substr(0, 255) + "\" \"" + record.substr(255) + "\"");
    EXPECT_EQ(lines[1], "; vmx20270115: active, rsa, signing since 2027-01-15");
    EXPECT_EQ(lines[2], "; vmx20270115 signs from now on: publish its record now (until DNS has it, its signatures fail)");
    // show prints the same record line.
    EXPECT_EQ(lines_of(ok("dkim show", {{"domain", "example.org"}}).text)[0], lines[0]);
    // The private key never leaves in a reply.
    EXPECT_EQ(made.text.find("PRIVATE"), std::string::npos);

    // ed25519: one short string, RFC 8463's raw key.
    AdminReply ed = ok("dkim keygen", {{"domain", "example.net"}, {"selector", "ed1"}, {"algorithm", "ed25519"}});
    const std::string ed_record = record_of("example.net", "ed1");
    EXPECT_EQ(lines_of(ed.text)[0], "ed1._domainkey.example.net TXT \"" + ed_record + "\"");
    EXPECT_EQ(ed_record.size(), std::string("v=DKIM1; k=ed25519; p=").size() + 44);
}

TEST_F(DkimCommandsTest, RotateRetiresAndShowKeepsRetiredKeysForTheirDays) {
    ok("dkim keygen", {{"domain", "example.org"}});
    const std::string first = "vmx20270115";
    now += hour_s;
    AdminReply rotated = ok("dkim rotate", {{"domain", "example.org"}});
    const std::string second = "vmx20270115-2";  // today's selector was taken
    auto old_key = stored("example.org", first);
    ASSERT_TRUE(old_key);
    EXPECT_EQ(old_key->retired_unix, now);
    EXPECT_EQ(stored("example.org", second)->algorithm, DkimAlgorithm::rsa_sha256);  // the old key's
    auto lines = lines_of(rotated.text);
    ASSERT_EQ(lines.size(), 5u) << rotated.text;
    EXPECT_EQ(parse_record(lines[0]), std::make_pair(second + "._domainkey.example.org", record_of("example.org", second)));
    EXPECT_EQ(parse_record(lines[1]), std::make_pair(first + "._domainkey.example.org", record_of("example.org", first)));
    EXPECT_EQ(lines[2], "; vmx20270115-2: active, rsa, signing since 2027-01-15");
    EXPECT_EQ(lines[3], "; vmx20270115: retired 2027-01-15, remove after 2027-01-22");
    EXPECT_EQ(changed, (std::vector<std::string>{"dkim/example.org/" + first, "dkim/example.org/" + second,
                                                 "dkim/example.org/" + first}));
    auto loaded = load_dkim_keys(*keys);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(dkim_keyring_of(std::move(*loaded))->find("example.org")->selector, second);

    // Another algorithm and a chosen selector; both earlier keys stay published.
    now += hour_s;
    AdminReply third = ok("dkim rotate", {{"domain", "example.org"}, {"selector", "ed"}, {"algorithm", "ed25519"}});
    lines = lines_of(third.text);
    ASSERT_EQ(lines.size(), 7u) << third.text;
    EXPECT_TRUE(lines[0].starts_with("ed._domainkey.example.org TXT \"v=DKIM1; k=ed25519; p=")) << lines[0];
    EXPECT_TRUE(lines[1].starts_with(second + "._domainkey")) << lines[1];  // retired last, listed first
    EXPECT_TRUE(lines[2].starts_with(first + "._domainkey")) << lines[2];

    // A week after the first retirement its key is gone: from the secrets and from show.
    now = kTestStart + hour_s + 7 * day_s;
    changed.clear();
    AdminReply shown = ok("dkim show", {{"domain", "example.org"}});
    lines = lines_of(shown.text);
    ASSERT_EQ(lines.size(), 4u) << shown.text;
    EXPECT_TRUE(lines[0].starts_with("ed._domainkey")) << lines[0];
    EXPECT_TRUE(lines[1].starts_with(second + "._domainkey")) << lines[1];
    EXPECT_EQ(lines[2], "; ed: active, ed25519, signing since 2027-01-15");
    EXPECT_EQ(lines[3], "; vmx20270115-2: retired 2027-01-15, remove after 2027-01-22");
    EXPECT_EQ(changed, std::vector<std::string>{"dkim/example.org/" + first});
    EXPECT_FALSE(stored("example.org", first));

    // --json: the unsplit records.
    AdminReply json = ok("dkim show", {{"domain", "example.org"}}, true);
    EXPECT_EQ(json.text, fmt::format(R"([{{"selector":"ed","algorithm":"ed25519","state":"active","record":"{}",)"
                                     R"("name":"ed._domainkey.example.org"}},{{"selector":"{}","algorithm":"rsa",)"
                                     R"("state":"retired","record":"{}","name":"{}._domainkey.example.org"}}])" "\n",
                                     record_of("example.org", "ed"), second, record_of("example.org", second), second));
}

TEST_F(DkimCommandsTest, RefusalsSayWhatToDo) {
    auto refused = [this](std::string command, Fields fields) {
        AdminReply reply = run(std::move(command), std::move(fields));
        EXPECT_EQ(reply.status, AdminStatus::refused) << reply.text;
        return reply.text;
    };
    EXPECT_EQ(refused("dkim show", {{"domain", "example.org"}}),
              "dkim example.org: no key; make one with `vaultmx dkim keygen example.org`");
    EXPECT_EQ(refused("dkim rotate", {{"domain", "example.org"}}),
              "dkim example.org: no active key to rotate; make one with `vaultmx dkim keygen example.org`");
    EXPECT_EQ(refused("dkim keygen", {{"domain", "localhost"}}),
              "domain \"localhost\": invalid (a DNS name with at least one dot)");
    EXPECT_EQ(refused("dkim keygen", {{"domain", "example.org"}, {"algorithm", "dsa"}}),
              "--algorithm \"dsa\": rsa or ed25519");
    EXPECT_EQ(refused("dkim keygen", {{"domain", "example.org"}, {"selector", "-s"}}),
              "--selector \"-s\": invalid (1 to 63 of a-z 0-9 -, not first -)");
    EXPECT_EQ(refused("dkim keygen", {{"domain", std::string(63, 'a') + "." + std::string(58, 'b') + ".org"}}),
              "dkim " + std::string(63, 'a') + "." + std::string(58, 'b') +
                  ".org: the domain is too long for a key's name (a secret name holds 128 bytes)");
    EXPECT_TRUE(changed.empty());

    ok("dkim keygen", {{"domain", "example.org"}, {"selector", "s1"}, {"algorithm", "ed25519"}});
    EXPECT_EQ(refused("dkim keygen", {{"domain", "example.org"}}),
              "dkim example.org: it has an active key (s1); use `vaultmx dkim rotate example.org`");
    EXPECT_EQ(refused("dkim rotate", {{"domain", "example.org"}, {"selector", "s1"}}),
              "dkim example.org: selector s1 is taken; choose another");
    // DKIM keys are written by these commands only, never typed in with `secret set`.
    EXPECT_EQ(run("secret set", {{"name", "dkim/example.org/s2"}}, false, "typed").text,
              "secret dkim/example.org/s2: DKIM keys are made with `vaultmx dkim keygen` or `dkim rotate`");
    EXPECT_EQ(changed.size(), 1u);
}

TEST_F(DkimCommandsTest, AuditEntriesNameDomainAndSelectorButNoKey) {
    ok("dkim keygen", {{"domain", "example.org"}, {"algorithm", "ed25519"}});
    now += hour_s;
    ok("dkim rotate", {{"domain", "example.org"}, {"selector", "s2"}});
    ok("dkim show", {{"domain", "example.org"}});
    const auto entries = audit_entries();
    ASSERT_EQ(entries.size(), 3u);
    EXPECT_EQ(entries[0].command, "dkim keygen");
    // The selector the daemon chose is recorded after the request's own fields.
    EXPECT_EQ(entries[0].arguments,
              (std::vector<std::string>{"--domain", "example.org", "--algorithm", "ed25519", "--selector", "vmx20270115"}));
    EXPECT_EQ(entries[1].command, "dkim rotate");
    EXPECT_EQ(entries[1].arguments,
              (std::vector<std::string>{"--domain", "example.org", "--selector", "s2", "--algorithm", "ed25519"}));
    EXPECT_EQ(entries[2].arguments, (std::vector<std::string>{"--domain", "example.org"}));
    // No part of any entry holds the private keys: not their PEM armour, not a line of their base64.
    std::vector<std::string> pem_lines;
    for (std::string_view selector : {"vmx20270115", "s2"}) {
        auto key = stored("example.org", selector);
        ASSERT_TRUE(key);
        const std::string pem(reinterpret_cast<const char*>(key->private_pem.view().data()), key->private_pem.size());
        for (const std::string& line : lines_of(pem))
            if (!line.starts_with("-----") && line.size() >= 16) pem_lines.push_back(line.substr(0, 16));
    }
    ASSERT_FALSE(pem_lines.empty());
    for (const AuditEntry& e : entries) {
        std::string all = e.command + " " + e.result.message;
        for (const std::string& a : e.arguments) all += " " + a;
        EXPECT_EQ(all.find("PRIVATE"), std::string::npos) << all;
        for (const std::string& piece : pem_lines) EXPECT_EQ(all.find(piece), std::string::npos) << all;
    }
}

}  // namespace
}  // namespace vmx
