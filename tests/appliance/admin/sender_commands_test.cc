// The admin commands for who a user may send as (user sender add / remove / list) and for an
// organisation's hourly submission limits (org policy --messages-per-hour / --recipients-per-hour),
// run through run_admin_command against a real directory, as the daemon runs them but without one:
// what each answers, what it stores, and each refusal's one line (the audit entry is
// run_admin_command's for every command; the integration test reads it back).
#include <gtest/gtest.h>

#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/directory/directory_view.h"
#include "appliance/directory/senders.h"
#include "appliance/keys/key_service.h"
#include "tests/appliance/support/admin_directory.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::kTestStart;
using Fields = std::vector<std::pair<std::string, std::string>>;

struct SenderCommandsTest : ::testing::Test {
    SenderCommandsTest() {
        context = std::make_unique<AdminContext>(AdminContext{*directory, *keys, hasher});
        context->now_unix = [] { return kTestStart; };
        EXPECT_EQ(run("org add", {{"name", "Org"}, {"plan", "starter"}}).status, AdminStatus::ok);
        EXPECT_EQ(run("domain add", {{"domain", "example.test"}, {"org", "Org"}}).status, AdminStatus::ok);
        EXPECT_EQ(run("user add", {{"address", "ann@example.test"}}).status, AdminStatus::ok);
    }

    AdminReply run(std::string command, Fields fields, bool json = false) {
        AdminRequest r;
        r.command = std::move(command);
        r.fields = std::move(fields);
        r.json = json;
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*context, r, AdminPeer{}, [&reply](AdminReply done) { reply = std::move(done); });
        return reply;
    }
    AdminReply sender(std::string verb, std::string address, std::string sender) {
        return run("user sender " + verb, {{"address", std::move(address)}, {"sender", std::move(sender)}});
    }
    std::string list(bool json = false) {
        AdminReply reply = run("user sender list", {{"address", "ann@example.test"}}, json);
        EXPECT_EQ(reply.status, AdminStatus::ok) << reply.text;
        return reply.text;
    }
    User ann() {
        auto view = DirectoryView::open(*directory, keys->snapshot());
        VMX_ASSERT(view);
        auto u = view->find_user("ann@example.test");
        VMX_ASSERT(u);
        return std::move(*u);
    }
    Organisation org() {
        auto view = DirectoryView::open(*directory, keys->snapshot());
        VMX_ASSERT(view);
        auto o = view->find_org("Org");
        VMX_ASSERT(o);
        return std::move(*o);
    }

    testing::TestTenant tenant;
    testing::AdminDirectory opened{tenant, 0x63};
    std::unique_ptr<KeyService>& keys = opened.keys;
    std::unique_ptr<Directory>& directory = opened.directory;
    InlineHasher hasher{crypto::Argon2Params{8, 1, 1}};
    std::unique_ptr<AdminContext> context;
};

TEST_F(SenderCommandsTest, AddListRemoveRoundTrip) {
    EXPECT_EQ(list(), "ann@example.test\t(own address)\n");
    AdminReply added = sender("add", "ann@example.test", "Sales@Example.test");
    EXPECT_EQ(added.status, AdminStatus::ok) << added.text;
    EXPECT_EQ(added.text, "user ann@example.test: may now send as sales@example.test (1 of at most 64 allowed senders)\n");
    EXPECT_EQ(sender("add", "ANN@example.test", "info@other.example").status, AdminStatus::ok);
    EXPECT_EQ(list(), "ann@example.test\t(own address)\nsales@example.test\ninfo@other.example\n");
    EXPECT_EQ(list(true), R"([{"address":"ann@example.test","own":true},{"address":"sales@example.test","own":false},)"
                          R"({"address":"info@other.example","own":false}])"
                          "\n");
    EXPECT_TRUE(may_send_as(ann(), "SALES@example.test"));
    AdminReply removed = sender("remove", "ann@example.test", "SALES@example.test");
    EXPECT_EQ(removed.status, AdminStatus::ok) << removed.text;
    EXPECT_EQ(removed.text, "user ann@example.test: may no longer send as sales@example.test\n");
    EXPECT_EQ(list(), "ann@example.test\t(own address)\ninfo@other.example\n");
    EXPECT_FALSE(may_send_as(ann(), "sales@example.test"));
}

TEST_F(SenderCommandsTest, RefusalsAreOneLineThatNamesWhatIsWrong) {
    ASSERT_EQ(sender("add", "ann@example.test", "sales@example.test").status, AdminStatus::ok);
    const std::vector<std::pair<AdminReply, std::string>> cases = {
        {sender("add", "nobody@example.test", "sales@example.test"), "user nobody@example.test: unknown user"},
        {sender("add", "ann@example.test", "bad@@example.test"), "sender bad@@example.test: invalid address"},
        {sender("add", "bad@@example.test", "sales@example.test"), "user bad@@example.test: invalid address"},
        {sender("add", "ann@example.test", "SALES@example.test"),
         "sender SALES@example.test: the user may already send as this address"},
        {sender("add", "ann@example.test", "Ann@example.test"),
         "sender Ann@example.test: this is the user's own address, which they may always send as"},
        {sender("remove", "ann@example.test", "info@example.test"),
         "sender info@example.test: not an address the user may send as"},
        {sender("remove", "nobody@example.test", "sales@example.test"), "user nobody@example.test: unknown user"},
        {run("user sender list", {{"address", "nobody@example.test"}}), "user nobody@example.test: unknown user"},
    };
    for (const auto& [reply, text] : cases) {
        EXPECT_EQ(reply.status, AdminStatus::refused) << text;
        EXPECT_EQ(reply.text, text);
    }
    EXPECT_EQ(ann().allowed_senders, std::vector<std::string>{"sales@example.test"});  // nothing else stored
}

TEST_F(SenderCommandsTest, TheListIsBounded) {
    for (std::size_t i = 0; i < allowed_senders_per_user_max; ++i)
        ASSERT_EQ(sender("add", "ann@example.test", "s" + std::to_string(i) + "@example.test").status, AdminStatus::ok);
    AdminReply full = sender("add", "ann@example.test", "one-more@example.test");
    EXPECT_EQ(full.status, AdminStatus::refused);
    EXPECT_EQ(full.text, "user ann@example.test: too many allowed senders (at most 64)");
    EXPECT_EQ(ann().allowed_senders.size(), allowed_senders_per_user_max);
}

TEST_F(SenderCommandsTest, OrgPolicySetsAndResetsTheHourlyLimits) {
    AdminReply set = run("org policy", {{"name", "Org"}, {"messages-per-hour", "200"}, {"recipients-per-hour", "1000000"}});
    EXPECT_EQ(set.status, AdminStatus::ok) << set.text;
    EXPECT_EQ(set.text, "organisation Org: policy updated\nsession_max_s=0\trequire_mfa=no\tallow_net=any\t"
                        "messages_per_hour=200\trecipients_per_hour=1000000\n");
    EXPECT_EQ(org().policy.submission_messages_per_hour, 200u);
    EXPECT_EQ(org().policy.submission_recipients_per_hour, 1'000'000u);
    EXPECT_EQ(run("org list", {}).text, "Org\tplan=starter\tsession_max_s=0\trequire_mfa=no\tallow_net=any\t"
                                        "messages_per_hour=200\trecipients_per_hour=1000000\n");
    EXPECT_NE(run("org list", {}, true).text.find(R"("submission_messages_per_hour":200,"submission_recipients_per_hour":1000000)"),
              std::string::npos);
    // Another policy change keeps them; 0 puts the appliance default back.
    EXPECT_EQ(run("org policy", {{"name", "Org"}, {"require-mfa", "1"}}).status, AdminStatus::ok);
    EXPECT_EQ(org().policy.submission_messages_per_hour, 200u);
    EXPECT_EQ(run("org policy", {{"name", "Org"}, {"messages-per-hour", "0"}}).status, AdminStatus::ok);
    EXPECT_EQ(org().policy.submission_messages_per_hour, 0u);
    EXPECT_NE(run("org list", {}).text.find("messages_per_hour=default\trecipients_per_hour=1000000"), std::string::npos);
    for (std::string bad : {"1000001", "-1", "+5", "", "12x", "4294967296", " 5"}) {
        AdminReply reply = run("org policy", {{"name", "Org"}, {"recipients-per-hour", bad}});
        EXPECT_EQ(reply.status, AdminStatus::refused) << bad;
        EXPECT_EQ(reply.text, "--recipients-per-hour " + bad + ": invalid hourly limit (0 to 1000000; 0: the appliance default)");
    }
    EXPECT_EQ(org().policy.submission_recipients_per_hour, 1'000'000u);
}

TEST_F(SenderCommandsTest, TheDaemonChecksTheRowsShapeFirst) {
    EXPECT_EQ(run("user sender add", {{"address", "ann@example.test"}, {"sender", "s@example.test"}, {"colour", "red"}}).text,
              "unknown field colour (known: address, sender)");
    EXPECT_EQ(run("user sender remove", {{"address", "ann@example.test"}}).text, "missing required field sender");
    EXPECT_TRUE(ann().allowed_senders.empty());
}

}  // namespace
}  // namespace vmx
