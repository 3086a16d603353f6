// Appliance secrets in a real keys environment: set/get/list/remove, values never listed and never
// on disk in the clear, a tampered or moved record and another master key refused, names checked;
// then the admin commands over a KeyService (the hook that tells the daemon, the refusals).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/keys/appliance_secrets.h"
#include "appliance/keys/key_service.h"
#include "crypto/errc.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::string text_of(const crypto::SecretBytes& s) { return {reinterpret_cast<const char*>(s.view().data()), s.size()}; }

struct ApplianceSecretsTest : ::testing::Test {
    ApplianceSecretsTest() {
        auto e = store::Env::open(dir.path(), store::EnvOptions{});
        VMX_ASSERT(e);
        env = std::move(*e);
        auto s = ApplianceSecrets::open(*env);
        VMX_ASSERT(s);
        secrets.emplace(std::move(*s));
    }
    std::string get(std::string_view name) {
        auto v = secrets->get(master, name);
        EXPECT_TRUE(v) << v.error().message();
        if (!v || !*v) return "(none)";
        return text_of(**v);
    }
    // Copies the raw record of `from` to `to` (or alters one byte of it) behind the API's back.
    void rewrite(std::string_view from, std::string_view to, bool flip_last_byte) {
        auto dbi = env->open_dbi("appliance-secrets");
        ASSERT_TRUE(dbi);
        auto txn = store::WriteTxn::begin(*env);
        ASSERT_TRUE(txn);
        auto value = txn->get(*dbi, bytes_of(from));
        ASSERT_TRUE(value);
        std::vector<std::uint8_t> copy(value->begin(), value->end());
        if (flip_last_byte) copy.back() ^= 1;
        ASSERT_TRUE(txn->put(*dbi, bytes_of(to), copy));
        ASSERT_TRUE(txn->commit());
    }

    store::testing::TempDir dir;
    std::unique_ptr<store::Env> env;
    std::optional<ApplianceSecrets> secrets;
    crypto::MasterKey master = testing::fixed_master_key(0x41);
};

TEST_F(ApplianceSecretsTest, SetGetListRemove) {
    EXPECT_EQ(get("relayhost"), "(none)");
    ASSERT_TRUE(secrets->set(master, "relayhost", bytes_of("hunter2 smarthost"), 1'800'000'000));
    ASSERT_TRUE(secrets->set(master, "dkim.example-org_1", bytes_of("key"), 1'800'000'100));
    EXPECT_EQ(get("relayhost"), "hunter2 smarthost");
    ASSERT_TRUE(secrets->set(master, "relayhost", bytes_of("replaced"), 1'800'000'200));
    EXPECT_EQ(get("relayhost"), "replaced");
    auto listed = secrets->list();
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 2u);
    EXPECT_EQ((*listed)[0].name, "dkim.example-org_1");
    EXPECT_EQ((*listed)[0].set_unix, 1'800'000'100);
    EXPECT_EQ((*listed)[1].name, "relayhost");
    EXPECT_EQ((*listed)[1].set_unix, 1'800'000'200);
    auto removed = secrets->remove("relayhost");
    ASSERT_TRUE(removed);
    EXPECT_TRUE(*removed);
    removed = secrets->remove("relayhost");
    ASSERT_TRUE(removed);
    EXPECT_FALSE(*removed);
    EXPECT_EQ(get("relayhost"), "(none)");
    EXPECT_EQ(secrets->list()->size(), 1u);
}

TEST_F(ApplianceSecretsTest, TheValueIsNotOnDiskInTheClear) {
    const std::string value = "plain-text-smarthost-password";
    ASSERT_TRUE(secrets->set(master, "relayhost", bytes_of(value), 1'800'000'000));
    env.reset();  // closed: everything is in data.mdb
    std::ifstream file(dir.path() + "/data.mdb", std::ios::binary);
    const std::string disk((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_NE(disk.find("relayhost"), std::string::npos);  // the name is public
    EXPECT_EQ(disk.find(value), std::string::npos);
}

TEST_F(ApplianceSecretsTest, TamperedMovedOrForeignRecordsFail) {
    ASSERT_TRUE(secrets->set(master, "relayhost", bytes_of("secret"), 1'800'000'000));
    rewrite("relayhost", "tampered", true);
    auto tampered = secrets->get(master, "tampered");
    ASSERT_FALSE(tampered);
    EXPECT_EQ(tampered.error(), crypto::CryptoErrc::authentication_failed);
    rewrite("relayhost", "moved", false);  // a whole record under another name: bound to its name
    auto moved = secrets->get(master, "moved");
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error(), crypto::CryptoErrc::authentication_failed);
    auto other_master = secrets->get(testing::fixed_master_key(0x42), "relayhost");
    ASSERT_FALSE(other_master);
    EXPECT_EQ(other_master.error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_EQ(get("relayhost"), "secret");
}

TEST_F(ApplianceSecretsTest, NamesAndValuesAreChecked) {
    for (std::string_view bad : {"", "Relayhost", "relay host", "/relayhost", "relayhost/", "relay//host", "/",
                                 "relayhost\n", "\xc3\xa9"}) {
        EXPECT_FALSE(valid_secret_name(bad)) << bad;
        EXPECT_FALSE(secrets->set(master, bad, bytes_of("v"), 0)) << bad;
    }
    // '/' groups names: the DKIM keys are "dkim/DOMAIN/SELECTOR".
    EXPECT_TRUE(valid_secret_name("dkim/example.org/vmx20261206"));
    ASSERT_TRUE(secrets->set(master, "dkim/example.org/vmx20261206", bytes_of("v"), 0));
    EXPECT_EQ(get("dkim/example.org/vmx20261206"), "v");
    EXPECT_TRUE(valid_secret_name(std::string(128, 'a')));
    EXPECT_FALSE(valid_secret_name(std::string(129, 'a')));
    EXPECT_FALSE(secrets->set(master, "relayhost", bytes_of(""), 0));
    EXPECT_TRUE(secrets->set(master, "relayhost", std::vector<std::uint8_t>(stored_secret_bytes_max, 'x'), 0));
    EXPECT_FALSE(secrets->set(master, "relayhost", std::vector<std::uint8_t>(stored_secret_bytes_max + 1, 'x'), 0));
    EXPECT_FALSE(secrets->get(master, "Bad Name"));
}

// The admin commands, run as the daemon runs them (run_admin_command) over a real KeyService.
struct SecretCommandsTest : ::testing::Test {
    SecretCommandsTest() {
        auto opened = open_keys(*tenant.layout, testing::fixed_master_key(0x64), "test master key");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        keys = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
        keys->on_secret_changed([this](std::string_view name) { changed.emplace_back(name); });
        context = std::make_unique<AdminContext>(AdminContext{directory(), *keys, hasher});
        context->now_unix = [] { return testing::kTestStart; };
    }
    Directory& directory() { return *tenant.directory; }
    AdminReply run(std::string command, std::string name, std::string secret = {}, bool json = false) {
        AdminRequest r;
        r.command = std::move(command);
        if (!name.empty()) r.fields = {{"name", std::move(name)}};
        r.secret = std::move(secret);
        r.json = json;
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*context, r, AdminPeer{}, [&reply](AdminReply done) { reply = std::move(done); });
        return reply;
    }

    testing::TestTenant tenant;
    std::unique_ptr<KeyService> keys;
    InlineHasher hasher{crypto::Argon2Params{8, 1, 1}};
    std::unique_ptr<AdminContext> context;
    std::vector<std::string> changed;
};

TEST_F(SecretCommandsTest, SetListRemoveTellTheDaemon) {
    AdminReply set = run("secret set", "relayhost", "s3cret value");
    EXPECT_EQ(set.status, AdminStatus::ok) << set.text;
    EXPECT_EQ(set.text, "secret relayhost set\n");
    EXPECT_EQ(changed, std::vector<std::string>{"relayhost"});
    auto value = keys->appliance_secret("relayhost");
    ASSERT_TRUE(value && *value);
    EXPECT_EQ(text_of(**value), "s3cret value");
    EXPECT_EQ(run("secret list", "").text, "relayhost\tset=2027-01-15T08:00:00Z\n");
    EXPECT_EQ(run("secret list", "", {}, true).text, R"([{"name":"relayhost","set":"2027-01-15T08:00:00Z"}])" "\n");
    AdminReply removed = run("secret remove", "relayhost");
    EXPECT_EQ(removed.status, AdminStatus::ok) << removed.text;
    EXPECT_EQ(changed, (std::vector<std::string>{"relayhost", "relayhost"}));
    EXPECT_EQ(run("secret list", "").text, "");
    value = keys->appliance_secret("relayhost");
    ASSERT_TRUE(value);
    EXPECT_FALSE(value->has_value());
}

TEST_F(SecretCommandsTest, RefusalsNameWhatIsWrongAndNeverTheValue) {
    AdminReply empty = run("secret set", "relayhost");
    EXPECT_EQ(empty.status, AdminStatus::refused);
    EXPECT_EQ(empty.text, "value: none given (pipe it to stdin)");
    AdminReply bad = run("secret set", "Relay Host", "v");
    EXPECT_EQ(bad.status, AdminStatus::refused);
    EXPECT_EQ(bad.text, "secret name \"Relay Host\": invalid (1 to 128 of a-z 0-9 . _ - /)");
    AdminReply long_value = run("secret set", "relayhost", std::string(4097, 'x'));
    EXPECT_EQ(long_value.status, AdminStatus::refused);
    AdminReply none = run("secret remove", "relayhost");
    EXPECT_EQ(none.status, AdminStatus::refused);
    EXPECT_EQ(none.text, "secret relayhost: none is set");
    AdminReply listed_with_secret = run("secret list", "", "v");
    EXPECT_EQ(listed_with_secret.status, AdminStatus::refused);  // check_request: this command takes no password
    EXPECT_TRUE(changed.empty());
}

// key rotate --master over the admin socket: root only (a member of the admin group must not put the
// store under a key of their choosing), the key only as the secret, never in the reply.
TEST_F(SecretCommandsTest, MasterRotationIsRootsAndTheKeyNeverComesBack) {
    ASSERT_TRUE(keys->set_appliance_secret("relayhost", bytes_of("pw"), 1));
    const crypto::MasterKey next = testing::fixed_master_key(0x65);
    const std::string material(reinterpret_cast<const char*>(next.material.view().data()), next.material.size());
    auto rotate = [&](uid_t uid, std::string secret) {
        AdminRequest r;
        r.command = "key rotate";
        r.fields = {{"master", "1"}, {"new-key-file", "/etc/vaultmx/master.key.next"}};
        r.secret = std::move(secret);
        AdminPeer peer;
        peer.uid = uid;
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*context, r, peer, [&reply](AdminReply done) { reply = std::move(done); });
        return reply;
    };
    EXPECT_EQ(rotate(1000, material).status, AdminStatus::forbidden);
    EXPECT_EQ(keys->master().check, testing::fixed_master_key(0x64).check);
    EXPECT_EQ(rotate(0, "").status, AdminStatus::refused);  // no key: the CLI reads the file
    AdminReply done = rotate(0, material);
    ASSERT_EQ(done.status, AdminStatus::ok) << done.text;
    EXPECT_EQ(done.text.find(material), std::string::npos);
    EXPECT_EQ(keys->master().check, next.check);
    EXPECT_EQ(text_of(**keys->appliance_secret("relayhost")), "pw");
    AdminReply again = rotate(0, material);
    EXPECT_EQ(again.status, AdminStatus::refused);
    EXPECT_NE(again.text.find("already"), std::string::npos);
}

}  // namespace
}  // namespace vmx
