// The verified-login cache in the auth workers, driven as the daemon drives it: logins checked on
// the workers with the candidates read from a real directory, and the admin commands run through
// run_admin_command with the context's verified_logins set as vaultmxd sets it. A second login with
// the same secret runs no Argon2id (AuthWorkers::full_checks() counts the runs, no timing); a
// password change, an app password added or revoked, a logout, a disable and a failed attempt each
// make the next login a full check; entries expire on the workers' (fixed) clock; the bound holds;
// a wrong secret and an unknown name never hit; the throttle still decides first; a TTL of 0 is off.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/auth/auth_workers.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/directory/directory_view.h"
#include "appliance/keys/key_service.h"
#include "tests/appliance/support/admin_directory.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::kTestStart;

constexpr crypto::Argon2Params kCheap{8, 1, 1};
constexpr std::string_view kAnn = "ann@example.test";
constexpr std::string_view kRight = "right password";

struct LoginCacheTest : ::testing::Test {
    LoginCacheTest() {
        VMX_ASSERT(directory->add_org(*keys->snapshot(), "Org", crypto::Plan::starter, kTestStart));
        VMX_ASSERT(directory->add_domain(*keys->snapshot(), "example.test", "Org", kTestStart));
        context = std::make_unique<AdminContext>(AdminContext{*directory, *keys, hasher});
        context->now_unix = [] { return kTestStart; };
        start_workers({300, 100});
        admin("user add", std::string(kAnn), kRight);
    }

    // Workers with cheap Argon2id, an address throttle that refuses after 3 failures (no delays),
    // the test's clock, and the cache as asked; the admin context forgets into it.
    void start_workers(VerifiedLoginOptions cache) {
        AuthWorkerOptions o;
        o.threads = 1;
        o.argon2 = kCheap;
        o.throttle.address_free_failures = 0;
        o.throttle.address_refuse_failures = 3;
        o.throttle.user_free_failures = 100;
        o.throttle.delay_base_ms = 0;
        o.login_cache = cache;
        o.now_s = [this] { return now_s.load(); };
        workers = std::make_unique<AuthWorkers>(o, 1);
        VMX_ASSERT(workers->start());
        context->verified_logins = &workers->verified_logins();
    }

    // One admin command, answered at once (the hasher is inline); its reply's text.
    std::string admin(std::string command, std::string address, std::string_view secret = {},
                      std::vector<std::pair<std::string, std::string>> more = {}) {
        AdminRequest r;
        r.command = std::move(command);
        r.fields.emplace_back("address", std::move(address));
        for (auto& f : more) r.fields.push_back(std::move(f));
        r.secret = std::string(secret);
        AdminReply reply{AdminStatus::failed, "no reply"};
        run_admin_command(*context, r, AdminPeer{}, [&reply](AdminReply done) { reply = std::move(done); });
        EXPECT_EQ(reply.status, AdminStatus::ok) << r.command << ": " << reply.text;
        return reply.text;
    }

    // A login as LoginFlow makes it: the user's stored hashes as candidates (none for an unknown
    // name), checked on the workers. The method that matched, or nothing (refused or no match).
    std::optional<LoginMethod> login(std::string_view secret, std::string_view name = kAnn,
                                     std::string address = "192.0.2.1") {
        VerifyJob job;
        job.token = ++last_token;
        job.user = lower_ascii(name);
        job.address = std::move(address);
        job.secret =
            crypto::SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()});
        auto view = DirectoryView::open(*directory, keys->snapshot());
        VMX_ASSERT(view);
        if (auto u = view->find_user(name)) {
            if (!u->password_hash.empty()) job.candidates.push_back({u->password_hash, LoginMethod::password});
            for (const AppPassword& a : u->app_passwords) job.candidates.push_back({a.hash, LoginMethod::app_password});
        }
        view->end();
        EXPECT_TRUE(workers->submit(std::move(job)));
        std::optional<VerifyDone> done;
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done && std::chrono::steady_clock::now() < end) {
            pollfd p{workers->result_fd(0), POLLIN, 0};
            if (poll(&p, 1, 100) > 0) workers->drain(0, [&](VerifyDone&& d) { done = std::move(d); });
        }
        EXPECT_TRUE(done.has_value());
        last_refused = done && done->refused;
        return done ? done->matched : std::nullopt;
    }

    // Logs in twice with the right password: the first runs Argon2id, the second is a hit.
    void warm() {
        const std::uint64_t before = full();
        EXPECT_EQ(login(kRight), LoginMethod::password);
        EXPECT_EQ(login(kRight), LoginMethod::password);
        EXPECT_EQ(full(), before + 1);
    }
    std::uint64_t full() const { return workers->full_checks(); }

    testing::TestTenant tenant;
    testing::AdminDirectory opened{tenant, 0x62};
    std::unique_ptr<KeyService>& keys = opened.keys;
    std::unique_ptr<Directory>& directory = opened.directory;
    InlineHasher hasher{kCheap};
    std::unique_ptr<AdminContext> context;
    std::atomic<std::int64_t> now_s{kTestStart};
    std::unique_ptr<AuthWorkers> workers;
    std::uint64_t last_token = 0;
    bool last_refused = false;
};

TEST_F(LoginCacheTest, ASecondLoginWithTheSamePasswordRunsNoArgon2) {
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), 1u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), 1u);
    EXPECT_EQ(workers->verified(), 4u);
    EXPECT_EQ(workers->verified_logins().hits(), 3u);
    EXPECT_EQ(workers->verified_logins().size(), 1u);
}

TEST_F(LoginCacheTest, APasswordChangeForcesAFullCheck) {
    warm();
    admin("user passwd", std::string(kAnn), "new password");
    EXPECT_EQ(workers->verified_logins().size(), 0u);
    const std::uint64_t before = full();
    EXPECT_FALSE(login(kRight));  // the old password: its entry is gone, and its hash is no candidate
    EXPECT_EQ(login("new password"), LoginMethod::password);
    EXPECT_EQ(full(), before + 2);
    EXPECT_EQ(login("new password"), LoginMethod::password);
    EXPECT_EQ(full(), before + 2);
}

TEST_F(LoginCacheTest, AddingOrRevokingAnAppPasswordForcesAFullCheck) {
    warm();
    const std::string reply = admin("user app-password add", std::string(kAnn), {}, {{"label", "phone"}});
    const std::size_t at = reply.find("): ");
    ASSERT_NE(at, std::string::npos) << reply;
    const std::string app = reply.substr(at + 3, reply.find('\n') - at - 3);
    EXPECT_EQ(workers->verified_logins().size(), 0u);
    std::uint64_t before = full();
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(login(app), LoginMethod::app_password);
    EXPECT_EQ(full(), before + 2);
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(login(app), LoginMethod::app_password);
    EXPECT_EQ(full(), before + 2);

    admin("user app-password revoke", std::string(kAnn), {}, {{"label", "phone"}});
    EXPECT_EQ(workers->verified_logins().size(), 0u);
    before = full();
    EXPECT_FALSE(login(app));
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 2);
}

TEST_F(LoginCacheTest, ALogoutForcesAFullCheck) {
    warm();
    admin("user logout", std::string(kAnn));
    const std::uint64_t before = full();
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 1);
}

TEST_F(LoginCacheTest, DisablingForcesAFullCheck) {
    warm();
    admin("user disable", std::string(kAnn));
    const std::uint64_t before = full();
    // The secret still matches; LoginFlow then answers "disabled" from the account's state.
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 1);
}

TEST_F(LoginCacheTest, AWrongPasswordNeverHitsAndForcesAFullCheckAfterIt) {
    warm();
    const std::uint64_t hits = workers->verified_logins().hits();
    const std::uint64_t before = full();
    EXPECT_FALSE(login("wrong password"));
    EXPECT_FALSE(login(std::string(kRight) + " "));
    EXPECT_EQ(full(), before + 2);
    EXPECT_EQ(workers->verified_logins().hits(), hits);
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 3);
}

TEST_F(LoginCacheTest, AnUnknownNameNeverHits) {
    warm();
    const std::uint64_t before = full();
    for (int i = 0; i < 2; ++i) EXPECT_FALSE(login(kRight, "nobody@example.test"));
    EXPECT_EQ(full(), before + 2);  // the decoy's run, every time
    EXPECT_EQ(workers->verified_logins().hits(), 1u);
}

TEST_F(LoginCacheTest, EntriesExpireOnTheWorkersClock) {
    warm();
    const std::uint64_t before = full();
    now_s = kTestStart + 299;
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before);
    now_s = kTestStart + 300;
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 1);
    EXPECT_EQ(login(kRight), LoginMethod::password);  // remembered again, from now
    EXPECT_EQ(full(), before + 1);
}

TEST_F(LoginCacheTest, TheThrottleStillDecidesFirst) {
    warm();
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(login("guess", "nobody@example.test", "203.0.113.9"));
    const std::uint64_t hits = workers->verified_logins().hits();
    EXPECT_FALSE(login(kRight, kAnn, "203.0.113.9"));  // even the cached password is not looked at
    EXPECT_TRUE(last_refused);
    EXPECT_EQ(workers->verified_logins().hits(), hits);
    EXPECT_EQ(login(kRight, kAnn, "198.51.100.7"), LoginMethod::password);  // from elsewhere: still a hit
    EXPECT_EQ(workers->verified_logins().hits(), hits + 1);
}

TEST_F(LoginCacheTest, TheBoundOnEntriesHolds) {
    start_workers({300, 1});
    admin("user add", "bob@example.test", "bob's password");
    warm();
    const std::uint64_t before = full();
    EXPECT_EQ(login("bob's password", "bob@example.test"), LoginMethod::password);  // takes ann's place
    EXPECT_EQ(workers->verified_logins().size(), 1u);
    EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), before + 2);
}

TEST_F(LoginCacheTest, ATimeToLiveOfZeroChecksEveryLoginInFull) {
    start_workers({0, 100});
    for (int i = 0; i < 3; ++i) EXPECT_EQ(login(kRight), LoginMethod::password);
    EXPECT_EQ(full(), 3u);
    EXPECT_EQ(workers->verified_logins().size(), 0u);
}

}  // namespace
}  // namespace vmx
