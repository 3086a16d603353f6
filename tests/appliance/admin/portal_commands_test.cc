// The user-scoped socket's commands through run_portal_command against a real directory, without
// shards (so without the password check, which the integration test drives): who may use the
// socket, the token every command needs, a session that a remote logout or a disable ended, the
// stage each command needs, commands acting on the session's own user alone, and the portal's
// session list, device logout and logout everywhere.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/admin/portal_commands.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/directory/directory_view.h"
#include "appliance/keys/key_service.h"
#include "tests/appliance/support/admin_directory.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::kTestStart;
using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr uid_t kPortalUid = 4242;

// Not the defaults, so a handler that read the defaults instead of the table's own would show.
PortalSessionLimits test_limits() {
    PortalSessionLimits l;
    l.second_factor_tries_max = 3;
    l.pending_s = 200;
    return l;
}

struct PortalCommandsTest : ::testing::Test {
    PortalCommandsTest() {
        admin = std::make_unique<AdminContext>(AdminContext{*directory, *keys, hasher});
        admin->now_unix = [this] { return now; };
        context = std::make_unique<PortalContext>(PortalContext{*admin, sessions, 28800});
        EXPECT_EQ(run_admin("org add", {{"name", "Org"}, {"plan", "pro"}}).status, AdminStatus::ok);
        EXPECT_EQ(run_admin("domain add", {{"domain", "example.test"}, {"org", "Org"}}).status, AdminStatus::ok);
        EXPECT_EQ(run_admin("user add", {{"address", "ann@example.test"}}).status, AdminStatus::ok);
        EXPECT_EQ(run_admin("user add", {{"address", "bob@example.test"}}).status, AdminStatus::ok);
    }

    AdminReply run_admin(std::string command, Fields fields) {
        AdminRequest r;
        r.command = std::move(command);
        r.fields = std::move(fields);
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*admin, r, AdminPeer{}, [&reply](AdminReply done) { reply = std::move(done); });
        return reply;
    }
    AdminReply portal(std::string command, Fields fields, std::string secret = {}) {
        AdminRequest r;
        r.command = std::move(command);
        r.fields = std::move(fields);
        r.secret = std::move(secret);
        AdminReply reply{AdminStatus::failed, "no reply"};
        int answers = 0;
        run_portal_command(*context, r, AdminPeer{1, kPortalUid, kPortalUid}, [&](AdminReply done) {
            ++answers;
            reply = std::move(done);
        });
        EXPECT_EQ(answers, 1) << "answered once, at once (no shard or worker is involved)";
        return reply;
    }
    AdminReply as(const std::string& token, std::string command, Fields fields = {}) {
        fields.emplace_back("token", token);
        return portal(std::move(command), std::move(fields));
    }
    User user(const std::string& address) {
        auto view = DirectoryView::open(*directory, keys->snapshot());
        VMX_ASSERT(view);
        auto u = view->find_user(address);
        VMX_ASSERT(u);
        return std::move(*u);
    }
    // A portal session of `address` as portal_login opens one once the password was right.
    std::string sign_in(const std::string& address, PortalStage stage = PortalStage::full) {
        const User u = user(address);
        auto token = sessions.open(u.id, u.token_generation, stage, "192.0.2.9", now, 28800);
        VMX_ASSERT(token);
        return *token;
    }
    std::uint64_t id_of(const std::string& token) {
        const PortalSession* s = sessions.find(token, now);
        VMX_ASSERT(s != nullptr);
        return s->id;
    }

    testing::TestTenant tenant;
    testing::AdminDirectory opened{tenant, 0x64};
    std::unique_ptr<KeyService>& keys = opened.keys;
    std::unique_ptr<Directory>& directory = opened.directory;
    InlineHasher hasher{crypto::Argon2Params{8, 1, 1}};
    std::unique_ptr<AdminContext> admin;
    PortalSessions sessions{test_limits()};
    std::unique_ptr<PortalContext> context;
    std::int64_t now = kTestStart;
};

TEST(PortalPeer, OnlyRootAndThePortalsOwnUserMayUseTheSocket) {
    EXPECT_TRUE(portal_peer_permitted(AdminPeer{1, 0, 0}, kPortalUid));
    EXPECT_TRUE(portal_peer_permitted(AdminPeer{1, kPortalUid, 100}, kPortalUid));
    EXPECT_FALSE(portal_peer_permitted(AdminPeer{1, kPortalUid + 1, kPortalUid}, kPortalUid));  // the group is not enough
    EXPECT_FALSE(portal_peer_permitted(AdminPeer{1, 1000, 0}, kPortalUid));
    EXPECT_FALSE(portal_peer_permitted(AdminPeer{1, 65534, 65534}, kPortalUid));
}

TEST_F(PortalCommandsTest, UnknownCommandsAreRefusedAndAdminCommandsAreNotReachable) {
    const std::string token = sign_in("ann@example.test");
    for (const char* command : {"frobnicate", "", "user add", "user logins", "user passwd", "org close", "WHOAMI"}) {
        SCOPED_TRACE(command);
        const AdminReply reply = as(token, command, {{"address", "bob@example.test"}});
        EXPECT_EQ(reply.status, AdminStatus::refused);
        EXPECT_EQ(reply.text, "unknown command");
    }
}

TEST_F(PortalCommandsTest, WithoutALiveTokenEveryCommandIsSignedOut) {
    const std::string token = sign_in("ann@example.test");
    std::string forged = token;
    forged[0] = forged[0] == '0' ? '1' : '0';
    for (const char* command : {"whoami", "history", "logout", "second-factor", "sessions"}) {
        SCOPED_TRACE(command);
        for (const AdminReply& reply : {portal(command, {}), as("", command), as("not a token", command),
                                        as(forged, command), as(std::string(64, '0'), command)}) {
            EXPECT_EQ(reply.status, AdminStatus::forbidden);
            EXPECT_EQ(reply.text, "signed out");
        }
    }
    EXPECT_EQ(as(token, "whoami").status, AdminStatus::ok);  // the real one still works
}

TEST_F(PortalCommandsTest, WhoamiNamesTheSessionsUserAndStage) {
    const std::string token = sign_in("ann@example.test", PortalStage::second_factor);
    const AdminReply reply = as(token, "whoami");
    ASSERT_EQ(reply.status, AdminStatus::ok) << reply.text;
    EXPECT_NE(reply.text.find(R"("address":"ann@example.test")"), std::string::npos) << reply.text;
    EXPECT_NE(reply.text.find(R"("stage":"second_factor")"), std::string::npos) << reply.text;
    EXPECT_NE(reply.text.find(R"("totp":false)"), std::string::npos) << reply.text;
    EXPECT_NE(reply.text.find(R"("mfa_available":true)"), std::string::npos) << reply.text;
}

TEST_F(PortalCommandsTest, ARemoteLogoutEndsThePortalSession) {
    const std::string token = sign_in("ann@example.test");
    const std::string bobs = sign_in("bob@example.test");
    ASSERT_EQ(as(token, "whoami").status, AdminStatus::ok);
    ASSERT_EQ(run_admin("user logout", {{"address", "ann@example.test"}}).status, AdminStatus::ok);
    const AdminReply reply = as(token, "whoami");
    EXPECT_EQ(reply.status, AdminStatus::forbidden);
    EXPECT_EQ(reply.text, "signed out");
    EXPECT_EQ(sessions.find(token, now), nullptr) << "the stale session is closed, not only refused";
    EXPECT_EQ(as(bobs, "whoami").status, AdminStatus::ok);
}

TEST_F(PortalCommandsTest, ADisabledUsersSessionIsSignedOut) {
    const std::string token = sign_in("ann@example.test");
    ASSERT_EQ(run_admin("user disable", {{"address", "ann@example.test"}}).status, AdminStatus::ok);
    EXPECT_EQ(as(token, "history").status, AdminStatus::forbidden);
    EXPECT_EQ(sessions.find(token, now), nullptr);
}

TEST_F(PortalCommandsTest, AnExpiredSessionIsSignedOut) {
    const std::string token = sign_in("ann@example.test", PortalStage::second_factor);
    now += test_limits().pending_s;
    EXPECT_EQ(as(token, "whoami").status, AdminStatus::forbidden);
}

TEST_F(PortalCommandsTest, EachCommandNeedsItsStage) {
    const std::string owing = sign_in("ann@example.test", PortalStage::second_factor);
    const std::string enrolling = sign_in("ann@example.test", PortalStage::enrol);
    for (const char* command : {"history", "sessions", "end-session", "logout-everywhere", "passwd", "close",
                                "app-passwords", "app-password-add", "trash", "restore", "export-prepare",
                                "export-status", "export-download", "export-discard", "totp-disable"}) {
        SCOPED_TRACE(command);
        for (const std::string* token : {&owing, &enrolling}) {
            const AdminReply reply = as(*token, command, {{"label", "phone"}, {"id", "p1"}});
            EXPECT_EQ(reply.status, AdminStatus::forbidden);
            EXPECT_EQ(reply.text, "not signed in");
        }
    }
    for (const char* command : {"totp-begin", "totp-confirm"}) {
        const AdminReply reply = as(owing, command);
        EXPECT_EQ(reply.status, AdminStatus::forbidden) << command;
        EXPECT_EQ(reply.text, "not signed in");
    }
    // What each stage may do: the whoami and logout of both, and enrolment once the password was right.
    EXPECT_EQ(as(enrolling, "totp-confirm").text, "no enrolment in progress");
    EXPECT_EQ(as(owing, "whoami").status, AdminStatus::ok);
    EXPECT_EQ(as(enrolling, "whoami").status, AdminStatus::ok);
    EXPECT_EQ(as(owing, "logout").status, AdminStatus::ok);
    EXPECT_EQ(sessions.find(owing, now), nullptr);
    EXPECT_EQ(user("ann@example.test").app_passwords.size(), 0u) << "nothing was done for a refused session";
}

TEST_F(PortalCommandsTest, ASecondFactorIsOnlyAskedOfASessionThatOwesIt) {
    const std::string token = sign_in("ann@example.test");
    const AdminReply reply = as(token, "second-factor", {{"code", "123456"}});
    EXPECT_EQ(reply.status, AdminStatus::refused);
    EXPECT_EQ(reply.text, "not asked");
}

// A code cannot be guessed through one sign-in: after second_factor_tries_max wrong codes the
// session ends and the password is needed again.
TEST_F(PortalCommandsTest, WrongCodesEndTheSignInAfterTheTriesAllowed) {
    User ann = user("ann@example.test");
    ann.totp_secret.assign(20, 0x5a);
    ASSERT_TRUE(directory->update_user(*keys->snapshot(), ann).has_value());
    const std::string token = sign_in("ann@example.test", PortalStage::second_factor);
    for (std::uint32_t i = 1; i < test_limits().second_factor_tries_max; ++i) {
        const AdminReply reply = as(token, "second-factor", {{"code", "12345x"}});  // never a valid code
        EXPECT_EQ(reply.status, AdminStatus::refused);
        EXPECT_EQ(reply.text, "bad code");
        ASSERT_NE(sessions.find(token, now), nullptr) << "ended after " << i << " tries";
    }
    EXPECT_EQ(as(token, "second-factor", {{"code", "12345x"}}).text, "bad code");
    EXPECT_EQ(sessions.find(token, now), nullptr);
    EXPECT_EQ(as(token, "second-factor", {{"code", "12345x"}}).text, "signed out");
}

TEST_F(PortalCommandsTest, CommandsActForTheSessionsUserAlone) {
    const std::string token = sign_in("ann@example.test");
    // The address is never a field the portal can pass: the session's user is the one served.
    AdminReply added = as(token, "app-password-add", {{"label", "phone"}, {"address", "bob@example.test"}});
    ASSERT_EQ(added.status, AdminStatus::ok) << added.text;
    EXPECT_NE(added.text.find("ann@example.test"), std::string::npos) << added.text;
    EXPECT_EQ(user("ann@example.test").app_passwords.size(), 1u);
    EXPECT_TRUE(user("bob@example.test").app_passwords.empty());
    ASSERT_EQ(run_admin("user app-password add", {{"address", "bob@example.test"}, {"label", "bobs-laptop"}}).status,
              AdminStatus::ok);
    const AdminReply listed = as(token, "app-passwords", {{"address", "bob@example.test"}});
    ASSERT_EQ(listed.status, AdminStatus::ok) << listed.text;
    EXPECT_NE(listed.text.find("phone"), std::string::npos) << listed.text;
    EXPECT_EQ(listed.text.find("bobs-laptop"), std::string::npos) << listed.text;
    const AdminReply revoked = as(token, "app-password-revoke", {{"label", "bobs-laptop"}, {"address", "bob@example.test"}});
    EXPECT_EQ(revoked.status, AdminStatus::refused) << revoked.text;
    EXPECT_EQ(user("bob@example.test").app_passwords.size(), 1u);
}

TEST_F(PortalCommandsTest, SessionsListsThePortalsOwnWithTheCurrentOneMarked) {
    const std::string token = sign_in("ann@example.test");
    const std::string other = sign_in("ann@example.test");
    sign_in("ann@example.test", PortalStage::second_factor);  // not a device yet
    sign_in("bob@example.test");
    const AdminReply reply = as(token, "sessions");
    ASSERT_EQ(reply.status, AdminStatus::ok) << reply.text;
    const std::string mine = fmt::format(R"("id":"p{}","protocol":"portal","client_ip":"192.0.2.9")", id_of(token));
    const std::string theirs = fmt::format(R"("id":"p{}",)", id_of(other));
    EXPECT_NE(reply.text.find(mine), std::string::npos) << reply.text;
    EXPECT_NE(reply.text.find(theirs), std::string::npos) << reply.text;
    EXPECT_EQ(std::count(reply.text.begin(), reply.text.end(), '{'), 2) << reply.text;
    EXPECT_EQ(reply.text.find(R"("current":true)"), reply.text.rfind(R"("current":true)"));
    EXPECT_LT(reply.text.find(mine), reply.text.find(R"("current":true)"));
}

TEST_F(PortalCommandsTest, EndSessionEndsTheUsersOwnSessionsOnly) {
    const std::string token = sign_in("ann@example.test");
    const std::string phone = sign_in("ann@example.test");
    const std::string bobs = sign_in("bob@example.test");
    const std::string bob_id = "p" + std::to_string(id_of(bobs));
    for (const std::string& id : {bob_id, std::string("p999"), std::string("p"), std::string(""), std::string("0-1"),
                                  std::string("x1")}) {
        SCOPED_TRACE(id);
        const AdminReply reply = as(token, "end-session", {{"id", id}});
        EXPECT_EQ(reply.status, AdminStatus::refused);
        EXPECT_EQ(reply.text, "no such session");
    }
    EXPECT_NE(sessions.find(bobs, now), nullptr) << "another user's session survives";
    const AdminReply ended = as(token, "end-session", {{"id", "p" + std::to_string(id_of(phone))}});
    EXPECT_EQ(ended.status, AdminStatus::ok) << ended.text;
    EXPECT_EQ(sessions.find(phone, now), nullptr);
    EXPECT_NE(sessions.find(token, now), nullptr);
}

TEST_F(PortalCommandsTest, LogoutEverywhereEndsEveryPortalSessionOfTheUser) {
    const std::string token = sign_in("ann@example.test");
    const std::string phone = sign_in("ann@example.test");
    const std::string bobs = sign_in("bob@example.test");
    const std::uint64_t generation = user("ann@example.test").token_generation;
    const AdminReply reply = as(token, "logout-everywhere");
    EXPECT_EQ(reply.status, AdminStatus::ok) << reply.text;
    EXPECT_EQ(user("ann@example.test").token_generation, generation + 1);
    EXPECT_EQ(sessions.find(token, now), nullptr);
    EXPECT_EQ(sessions.find(phone, now), nullptr);
    EXPECT_NE(sessions.find(bobs, now), nullptr);
}

TEST_F(PortalCommandsTest, LoginNeedsANameAndAPasswordAndOpensNothingWithoutShards) {
    for (const auto& [name, secret] : std::vector<std::pair<std::string, std::string>>{
             {"", "password"}, {"ann@example.test", ""}, {std::string(321, 'a'), "password"}}) {
        const AdminReply reply = portal("login", {{"username", name}, {"client_ip", "192.0.2.9"}}, secret);
        EXPECT_EQ(reply.status, AdminStatus::refused);
        EXPECT_EQ(reply.text, "bad credentials");
    }
    const AdminReply reply = portal("login", {{"username", "ann@example.test"}, {"client_ip", "192.0.2.9"}}, "password");
    EXPECT_EQ(reply.status, AdminStatus::failed);  // no shard to check the password: try again later
    EXPECT_EQ(sessions.size(), 0u);
}

}  // namespace
}  // namespace vmx
