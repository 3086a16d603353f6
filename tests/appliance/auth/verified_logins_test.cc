// VerifiedLogins alone, on an explicit clock: a hit only for the secret that was verified against
// the very stored hash (a changed password, a revoked app password, a wrong secret or another user
// never hit), the method of the candidate that matched, the time to live (and a clock that went
// back), the bound on entries (oldest out first), failed() and forget() (which also keeps a check
// running across it from being remembered), a cache that is off, not started or wiped.
#include "appliance/auth/verified_logins.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmx {
namespace {

constexpr std::int64_t kStart = 1'800'000'000;
// Stored hashes as the directory holds them; the cache only MACs them, so they need not verify.
const PasswordCandidate kPassword{"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$b25lIHN0b3JlZCBoYXNo",
                                  LoginMethod::password};
const PasswordCandidate kChanged{"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YW5vdGhlciBzdG9yZWQgaGFzaA",
                                 LoginMethod::password};
const PasswordCandidate kApp{"$argon2id$v=19$m=8,t=1,p=1$YXBwc2FsdHM$YW4gYXBwIHBhc3N3b3JkIGhhc2g",
                             LoginMethod::app_password};

struct VerifiedLoginsTest : ::testing::Test {
    VerifiedLoginsTest(VerifiedLoginOptions options = {300, 100}) : cache(options) {}
    void SetUp() override { ASSERT_TRUE(cache.start()); }

    void remember(std::string_view user, const PasswordCandidate& c, std::string_view secret,
                  std::int64_t at = kStart) {
        cache.remember(user, c, secret, at, cache.ticket());
    }
    std::optional<LoginMethod> find(std::string_view user, std::vector<PasswordCandidate> candidates,
                                    std::string_view secret, std::int64_t at = kStart + 1) {
        return cache.find(user, candidates, secret, at);
    }

    VerifiedLogins cache;
};

TEST_F(VerifiedLoginsTest, HitsOnlyForTheVerifiedSecretAgainstTheSameStoredHash) {
    remember("ann@example.test", kPassword, "right");
    EXPECT_EQ(find("ann@example.test", {kPassword}, "right"), LoginMethod::password);
    EXPECT_EQ(find("ANN@Example.TEST", {kPassword}, "right"), LoginMethod::password);  // names are case-blind
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "wrong"));
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "right "));
    EXPECT_FALSE(find("ann@example.test", {kPassword}, ""));
    EXPECT_FALSE(find("ann@example.test", {kChanged}, "right"));  // the password was changed
    EXPECT_FALSE(find("bob@example.test", {kPassword}, "right"));  // the same hash and secret, another user
    EXPECT_FALSE(find("ann@example.test", {}, "right"));           // an unknown name has no candidate
    EXPECT_EQ(cache.hits(), 2u);
    EXPECT_EQ(cache.misses(), 5u);  // a lookup without candidates is not one
}

TEST_F(VerifiedLoginsTest, AnAppPasswordHitsAsAnAppPasswordUntilItIsRevoked) {
    remember("ann@example.test", kApp, "phone secret");
    EXPECT_EQ(find("ann@example.test", {kPassword, kApp}, "phone secret"), LoginMethod::app_password);
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "phone secret"));  // revoked: no longer a candidate
    // The method is part of what was verified: the same hash offered as the other kind misses.
    EXPECT_FALSE(find("ann@example.test", {PasswordCandidate{kApp.hash, LoginMethod::password}}, "phone secret"));
}

TEST_F(VerifiedLoginsTest, AnEntryLivesTheTimeToLiveFromItsCheckAndAHitDoesNotExtendIt) {
    remember("ann@example.test", kPassword, "right", kStart);
    EXPECT_TRUE(find("ann@example.test", {kPassword}, "right", kStart));
    EXPECT_TRUE(find("ann@example.test", {kPassword}, "right", kStart + 299));
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "right", kStart + 300));
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "right", kStart - 1));  // a clock that went back
    // Expired entries make room before anything else.
    remember("bob@example.test", kPassword, "right", kStart + 300);
    EXPECT_EQ(cache.size(), 1u);
}

TEST_F(VerifiedLoginsTest, TheSameSecretVerifiedAgainReplacesItsEntry) {
    remember("ann@example.test", kPassword, "right", kStart);
    remember("ann@example.test", kPassword, "right", kStart + 200);
    remember("ann@example.test", kApp, "phone secret", kStart + 200);
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_TRUE(find("ann@example.test", {kPassword}, "right", kStart + 450));  // lives from the second check
}

struct SmallVerifiedLoginsTest : VerifiedLoginsTest {
    SmallVerifiedLoginsTest() : VerifiedLoginsTest({300, 3}) {}
};

TEST_F(SmallVerifiedLoginsTest, AtMostEntriesMaxAndTheOldestGoesFirst) {
    for (int i = 0; i < 5; ++i) remember("user" + std::to_string(i) + "@example.test", kPassword, "right", kStart + i);
    EXPECT_EQ(cache.size(), 3u);
    EXPECT_FALSE(find("user0@example.test", {kPassword}, "right", kStart + 10));
    EXPECT_FALSE(find("user1@example.test", {kPassword}, "right", kStart + 10));
    for (int i = 2; i < 5; ++i)
        EXPECT_TRUE(find("user" + std::to_string(i) + "@example.test", {kPassword}, "right", kStart + 10));
}

TEST_F(VerifiedLoginsTest, AFailureOrAForgetDropsEveryEntryOfThatUserOnly) {
    remember("ann@example.test", kPassword, "right");
    remember("ann@example.test", kApp, "phone secret");
    remember("bob@example.test", kPassword, "bob's");
    cache.failed("ann@example.test");
    EXPECT_FALSE(find("ann@example.test", {kPassword, kApp}, "right"));
    EXPECT_FALSE(find("ann@example.test", {kPassword, kApp}, "phone secret"));
    EXPECT_TRUE(find("bob@example.test", {kPassword}, "bob's"));
    cache.forget("Bob@Example.Test");  // the admin's spelling of the address
    EXPECT_FALSE(find("bob@example.test", {kPassword}, "bob's"));
    EXPECT_EQ(cache.size(), 0u);
}

TEST_F(VerifiedLoginsTest, ACheckThatRanAcrossAForgetIsNotRemembered) {
    const std::uint64_t ticket = cache.ticket();  // the check starts...
    cache.forget("carl@example.test");           // ...an admin changes a user (any user)...
    cache.remember("ann@example.test", kPassword, "right", kStart, ticket);  // ...the check ends
    EXPECT_FALSE(find("ann@example.test", {kPassword}, "right"));
    cache.failed("ann@example.test");  // a failure is not an admin's change: later checks still count
    remember("ann@example.test", kPassword, "right");
    EXPECT_TRUE(find("ann@example.test", {kPassword}, "right"));
}

TEST(VerifiedLoginsOffTest, ATimeToLiveOfZeroNotStartedOrWipedRemembersNothing) {
    VerifiedLogins off({0, 100});
    ASSERT_TRUE(off.start());
    off.remember("ann@example.test", kPassword, "right", kStart, off.ticket());
    EXPECT_EQ(off.size(), 0u);
    EXPECT_FALSE(off.find("ann@example.test", std::vector{kPassword}, "right", kStart));

    VerifiedLogins not_started({300, 100});
    not_started.remember("ann@example.test", kPassword, "right", kStart, not_started.ticket());
    EXPECT_FALSE(not_started.find("ann@example.test", std::vector{kPassword}, "right", kStart));

    VerifiedLogins wiped({300, 100});
    ASSERT_TRUE(wiped.start());
    wiped.remember("ann@example.test", kPassword, "right", kStart, wiped.ticket());
    EXPECT_EQ(wiped.size(), 1u);
    wiped.wipe();
    EXPECT_EQ(wiped.size(), 0u);
    EXPECT_FALSE(wiped.find("ann@example.test", std::vector{kPassword}, "right", kStart));
    wiped.remember("ann@example.test", kPassword, "right", kStart, wiped.ticket());  // no key: nothing kept
    EXPECT_EQ(wiped.size(), 0u);
}

}  // namespace
}  // namespace vmx
