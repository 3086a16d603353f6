// The daemon's portal sessions alone, on an explicit clock: tokens (64 hex digits, each new), what
// find() returns and how it restarts the idle clock, every way a session ends (lifetime, idle, the
// second factor's pending window, close by token, by id for its own user only, every session of a
// user, expire()), what of_user() shows, and the oldest giving way at both table limits.
#include "appliance/auth/portal_sessions.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

namespace vmx {
namespace {

constexpr std::int64_t kStart = 1'800'000'000;
constexpr std::uint32_t kLifetime = 28800;

PortalSessionLimits limits() {
    PortalSessionLimits l;
    l.sessions_max = 8;
    l.per_user_max = 3;
    l.idle_s = 600;
    l.pending_s = 120;
    return l;
}

struct PortalSessionsTest : ::testing::Test {
    std::string open(std::uint64_t user, PortalStage stage = PortalStage::full, std::int64_t at = kStart,
                     std::uint32_t lifetime_s = kLifetime) {
        auto token = sessions.open(user, 7, stage, "192.0.2.1", at, lifetime_s);
        EXPECT_TRUE(token.has_value());
        return token.value_or("");
    }
    bool alive(const std::string& token, std::int64_t at) { return sessions.find(token, at) != nullptr; }

    PortalSessions sessions{limits()};
};

bool lower_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

TEST_F(PortalSessionsTest, TokensAreSixtyFourHexDigitsAndNeverRepeat) {
    std::set<std::string> seen;
    for (std::uint64_t user = 1; user <= 8; ++user) {
        const std::string token = open(user);
        EXPECT_EQ(token.size(), 64u);
        EXPECT_TRUE(lower_hex(token)) << token;
        EXPECT_TRUE(seen.insert(token).second) << "a token came twice";
    }
    EXPECT_EQ(sessions.size(), 8u);
}

TEST_F(PortalSessionsTest, FindReturnsTheSessionAndTouchesIt) {
    const std::string token = open(42, PortalStage::enrol);
    PortalSession* s = sessions.find(token, kStart + 500);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->user_id, 42u);
    EXPECT_EQ(s->token_generation, 7u);
    EXPECT_EQ(s->stage, PortalStage::enrol);
    EXPECT_EQ(s->client_ip, "192.0.2.1");
    EXPECT_EQ(s->started_unix, kStart);
    EXPECT_EQ(s->last_unix, kStart + 500);
    EXPECT_EQ(s->ends_unix, kStart + kLifetime);
    // Each use starts the idle clock again: 1000 s after the start is within 600 s of the last use.
    EXPECT_TRUE(alive(token, kStart + 1000));
    EXPECT_TRUE(alive(token, kStart + 1599));
}

TEST_F(PortalSessionsTest, UnknownAndMalformedTokensFindNothing) {
    const std::string token = open(1);
    std::string changed = token;
    changed[10] = changed[10] == 'a' ? 'b' : 'a';
    std::string upper = token;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& other : {std::string(), token.substr(0, 63), token + "0", changed,
                                     std::string(64, 'z'), upper}) {
        EXPECT_EQ(sessions.find(other, kStart + 1), nullptr) << other;
    }
    EXPECT_TRUE(alive(token, kStart + 1));  // a wrong guess does not end the right one
}

TEST_F(PortalSessionsTest, TheLifetimeEndsASessionEvenInUse) {
    const std::string token = open(1, PortalStage::full, kStart, 1000);
    for (std::int64_t t = kStart + 300; t < kStart + 1000; t += 300) EXPECT_TRUE(alive(token, t));
    EXPECT_FALSE(alive(token, kStart + 1000));
    EXPECT_EQ(sessions.size(), 0u);  // an expired session found is removed
}

TEST_F(PortalSessionsTest, WithoutALifetimeTheIdleLimitAloneEndsIt) {
    const std::string token = open(1, PortalStage::full, kStart, 0);
    for (std::int64_t t = kStart + 500; t < kStart + 10 * kLifetime; t += 500) ASSERT_TRUE(alive(token, t));
    const std::string idle = open(2, PortalStage::full, kStart, 0);
    EXPECT_TRUE(alive(idle, kStart + 599));
    EXPECT_FALSE(alive(idle, kStart + 599 + 600));
}

TEST_F(PortalSessionsTest, AnUnusedSessionEndsAfterIdle) {
    const std::string token = open(1);
    EXPECT_FALSE(alive(token, kStart + 600));
    const std::string other = open(2);
    EXPECT_TRUE(alive(other, kStart + 599));
}

TEST_F(PortalSessionsTest, TheSecondFactorIsOwedWithinPending) {
    const std::string token = open(1, PortalStage::second_factor);
    EXPECT_TRUE(alive(token, kStart + 60));
    EXPECT_TRUE(alive(token, kStart + 119));
    EXPECT_FALSE(alive(token, kStart + 120));  // in use, but the password was given too long ago
    // A lifetime shorter than the pending window still ends it first.
    const std::string short_lived = open(2, PortalStage::second_factor, kStart, 30);
    EXPECT_FALSE(alive(short_lived, kStart + 30));
}

// Once the code was given the session is a signed-in one: the pending window no longer applies,
// only its lifetime and the idle limit do.
TEST_F(PortalSessionsTest, AfterTheSecondFactorTheLifetimeApplies) {
    const std::string token = open(1, PortalStage::second_factor);
    PortalSession* s = sessions.find(token, kStart + 60);
    ASSERT_NE(s, nullptr);
    s->stage = PortalStage::full;  // as portal_second_factor does
    EXPECT_EQ(s->ends_unix, kStart + kLifetime);
    for (std::int64_t t = kStart + 500; t < kStart + kLifetime; t += 500) ASSERT_TRUE(alive(token, t)) << t - kStart;
    EXPECT_FALSE(alive(token, kStart + kLifetime));
}

TEST_F(PortalSessionsTest, CloseEndsOnlyThatToken) {
    const std::string a = open(1);
    const std::string b = open(1);
    sessions.close(a);
    sessions.close("not a token");
    sessions.close(std::string(64, '0'));
    EXPECT_FALSE(alive(a, kStart + 1));
    EXPECT_TRUE(alive(b, kStart + 1));
}

TEST_F(PortalSessionsTest, CloseIdEndsOnlyTheUsersOwnSession) {
    const std::string mine = open(1);
    const std::string theirs = open(2);
    const std::uint64_t my_id = sessions.find(mine, kStart)->id;
    const std::uint64_t their_id = sessions.find(theirs, kStart)->id;
    EXPECT_NE(my_id, their_id);
    EXPECT_FALSE(sessions.close_id(1, their_id));  // user 1 cannot end user 2's session
    EXPECT_TRUE(alive(theirs, kStart + 1));
    EXPECT_FALSE(sessions.close_id(1, 999));
    EXPECT_TRUE(sessions.close_id(1, my_id));
    EXPECT_FALSE(alive(mine, kStart + 1));
    EXPECT_FALSE(sessions.close_id(1, my_id));  // once
}

TEST_F(PortalSessionsTest, CloseUserEndsEverySessionOfThatUserOnly) {
    const std::string a = open(1);
    const std::string b = open(1, PortalStage::second_factor);
    const std::string c = open(2);
    EXPECT_EQ(sessions.close_user(1), 2u);
    EXPECT_EQ(sessions.close_user(1), 0u);
    EXPECT_FALSE(alive(a, kStart + 1));
    EXPECT_FALSE(alive(b, kStart + 1));
    EXPECT_TRUE(alive(c, kStart + 1));
}

TEST_F(PortalSessionsTest, OfUserListsSignedInSessionsInOrderWithoutSecrets) {
    const std::string first = open(1, PortalStage::full);
    open(1, PortalStage::second_factor);  // owes its code: not shown as a device
    const std::string enrolling = open(1, PortalStage::enrol);
    open(2, PortalStage::full);
    PortalSession* s = sessions.find(enrolling, kStart);
    ASSERT_NE(s, nullptr);
    s->pending_totp = {1, 2, 3, 4};
    const std::vector<PortalSession> listed = sessions.of_user(1);
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].id, sessions.find(first, kStart)->id);
    EXPECT_EQ(listed[1].id, s->id);
    EXPECT_LT(listed[0].id, listed[1].id);
    for (const PortalSession& l : listed) {
        EXPECT_EQ(l.user_id, 1u);
        EXPECT_NE(l.stage, PortalStage::second_factor);
        EXPECT_TRUE(l.pending_totp.empty());  // the copy never holds the enrolment's secret
    }
    EXPECT_EQ(sessions.find(enrolling, kStart)->pending_totp.size(), 4u);  // the session keeps it
    EXPECT_TRUE(sessions.of_user(3).empty());
}

TEST_F(PortalSessionsTest, AUsersOldestGivesWayPastPerUserMax) {
    const std::string a = open(1, PortalStage::full, kStart);
    const std::string b = open(1, PortalStage::full, kStart + 1);
    const std::string other = open(2, PortalStage::full, kStart + 2);
    const std::string c = open(1, PortalStage::full, kStart + 3);
    EXPECT_EQ(sessions.size(), 4u);
    const std::string d = open(1, PortalStage::full, kStart + 4);  // the fourth of user 1: a goes
    EXPECT_EQ(sessions.size(), 4u);
    EXPECT_FALSE(alive(a, kStart + 5));
    for (const std::string* t : {&b, &c, &d, &other}) EXPECT_TRUE(alive(*t, kStart + 5));
}

TEST_F(PortalSessionsTest, TheOldestOfAllGivesWayPastSessionsMax) {
    std::vector<std::string> tokens;
    for (std::uint64_t user = 1; user <= 8; ++user) tokens.push_back(open(user, PortalStage::full, kStart + user));
    // Touching the oldest does not save it: age is by opening, not by use.
    ASSERT_TRUE(alive(tokens[0], kStart + 20));
    const std::string ninth = open(9, PortalStage::full, kStart + 21);
    EXPECT_EQ(sessions.size(), 8u);
    EXPECT_FALSE(alive(tokens[0], kStart + 22));
    EXPECT_TRUE(alive(ninth, kStart + 22));
    for (std::size_t i = 1; i < tokens.size(); ++i) EXPECT_TRUE(alive(tokens[i], kStart + 22)) << i;
}

TEST_F(PortalSessionsTest, ExpireRemovesOnlyExpiredSessions) {
    const std::string idle = open(1, PortalStage::full, kStart);
    const std::string pending = open(2, PortalStage::second_factor, kStart + 400);
    const std::string short_lived = open(3, PortalStage::full, kStart + 400, 100);
    const std::string fresh = open(4, PortalStage::full, kStart + 500);
    sessions.expire(kStart + 499);
    EXPECT_EQ(sessions.size(), 4u);
    sessions.expire(kStart + 520);  // pending (its 120 s for the code) and short_lived (its lifetime)
    EXPECT_EQ(sessions.size(), 2u);
    sessions.expire(kStart + 600);  // idle: 600 s unused
    EXPECT_EQ(sessions.size(), 1u);
    EXPECT_TRUE(alive(fresh, kStart + 601));
    for (const std::string* t : {&idle, &pending, &short_lived}) EXPECT_FALSE(alive(*t, kStart + 601));
}

}  // namespace
}  // namespace vmx
