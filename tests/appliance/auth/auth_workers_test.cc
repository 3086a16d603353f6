// AuthWorkers: password and app-password hashes are checked on the worker threads, each result
// goes to the eventfd of the shard that asked, the queue is bounded, an unknown user costs a decoy
// check, the throttle refuses an address that failed too often (not the user elsewhere), and stop()
// with jobs queued is clean.
#include "appliance/auth/auth_workers.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <map>
#include <string_view>
#include <thread>

namespace vmx {
namespace {

crypto::Argon2Params cheap() {
    crypto::Argon2Params p;
    p.memory_kib = 64;
    p.iterations = 1;
    return p;
}

crypto::SecretBytes secret(std::string_view text) {
    return crypto::SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::string hash(std::string_view password) { return *crypto::hash_password(password, cheap()); }

// Waits for shard's results (up to 10 s) and collects them.
std::vector<VerifyDone> collect(AuthWorkers& w, std::uint32_t shard, std::size_t count) {
    std::vector<VerifyDone> out;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < count && std::chrono::steady_clock::now() < end) {
        pollfd p{w.result_fd(shard), POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        w.drain(shard, [&](VerifyDone&& d) { out.push_back(std::move(d)); });
    }
    return out;
}

VerifyJob job(std::uint32_t shard, std::uint64_t token, std::string_view password, std::vector<PasswordCandidate> c,
              std::string address = "192.0.2.1") {
    VerifyJob j;
    j.user = "ann@example.test";
    j.address = std::move(address);
    j.shard = shard;
    j.token = token;
    j.secret = secret(password);
    j.candidates = std::move(c);
    return j;
}

struct AuthWorkersTest : ::testing::Test {
    AuthWorkerOptions options() {
        AuthWorkerOptions o;
        o.threads = 2;
        o.queue_max = 4;
        o.argon2 = cheap();
        return o;
    }
};

TEST_F(AuthWorkersTest, MatchesThePasswordOrAnAppPasswordAndSaysWhich) {
    AuthWorkers w(options(), 2);
    ASSERT_TRUE(w.start());
    const std::vector<PasswordCandidate> c{{hash("main pass"), LoginMethod::password},
                                           {hash("app one"), LoginMethod::app_password},
                                           {hash("app two"), LoginMethod::app_password}};
    ASSERT_TRUE(w.submit(job(1, 10, "main pass", c)));
    ASSERT_TRUE(w.submit(job(1, 11, "app two", c)));
    ASSERT_TRUE(w.submit(job(1, 12, "wrong", c)));
    auto results = collect(w, 1, 3);
    ASSERT_EQ(results.size(), 3u);
    std::map<std::uint64_t, std::optional<LoginMethod>> by_token;
    for (auto& r : results) by_token[r.token] = r.matched;
    EXPECT_EQ(by_token[10], LoginMethod::password);
    EXPECT_EQ(by_token[11], LoginMethod::app_password);
    EXPECT_FALSE(by_token[12].has_value());
    EXPECT_EQ(w.verified(), 3u);
}

TEST_F(AuthWorkersTest, ResultsGoToTheShardThatAsked) {
    AuthWorkers w(options(), 3);
    ASSERT_TRUE(w.start());
    const std::vector<PasswordCandidate> c{{hash("pw"), LoginMethod::password}};
    ASSERT_TRUE(w.submit(job(2, 7, "pw", c)));
    auto results = collect(w, 2, 1);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].token, 7u);
    bool other = false;
    w.drain(0, [&](VerifyDone&&) { other = true; });
    w.drain(1, [&](VerifyDone&&) { other = true; });
    EXPECT_FALSE(other);
    EXPECT_FALSE(w.submit(job(3, 8, "pw", c)));  // no such shard
}

TEST_F(AuthWorkersTest, AnUnknownUserIsCheckedAgainstTheDecoyAndNeverMatches) {
    AuthWorkers w(options(), 1);
    ASSERT_TRUE(w.start());
    ASSERT_TRUE(w.submit(job(0, 1, "vaultmx decoy password, never a real one", {})));
    ASSERT_TRUE(w.submit(job(0, 2, "", {})));
    auto results = collect(w, 0, 2);
    ASSERT_EQ(results.size(), 2u);
    for (auto& r : results) EXPECT_FALSE(r.matched.has_value());
}

TEST_F(AuthWorkersTest, TheQueueIsBoundedAndStopDropsWhatWaits) {
    AuthWorkers w(options(), 1);  // not started: nothing is taken off the queue
    const std::vector<PasswordCandidate> c{{hash("pw"), LoginMethod::password}};
    for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(w.submit(job(0, i, "pw", c)));
    EXPECT_FALSE(w.submit(job(0, 99, "pw", c)));
    EXPECT_EQ(w.queued(), 4u);
    w.stop();
    EXPECT_EQ(w.queued(), 0u);
    EXPECT_FALSE(w.submit(job(0, 100, "pw", c)));  // stopped
}

TEST_F(AuthWorkersTest, TheThrottleSlowsThenRefusesAnAddressButNotTheUserElsewhere) {
    AuthWorkerOptions o = options();
    o.threads = 1;  // results in submission order
    o.throttle.address_free_failures = 1;
    o.throttle.address_refuse_failures = 3;
    o.throttle.delay_base_ms = 10;
    AuthWorkers w(o, 1);
    ASSERT_TRUE(w.start());
    const std::vector<PasswordCandidate> c{{hash("right"), LoginMethod::password}};
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(w.submit(job(0, i, "wrong", c, "203.0.113.9")));
    auto failures = collect(w, 0, 3);
    ASSERT_EQ(failures.size(), 3u);
    EXPECT_EQ(failures[0].delay_ms, 0u);
    EXPECT_EQ(failures[1].delay_ms, 10u);
    EXPECT_EQ(failures[2].delay_ms, 20u);
    ASSERT_TRUE(w.submit(job(0, 4, "right", c, "203.0.113.9")));
    ASSERT_TRUE(w.submit(job(0, 5, "right", c, "198.51.100.7")));
    auto after = collect(w, 0, 2);
    ASSERT_EQ(after.size(), 2u);
    EXPECT_TRUE(after[0].refused);  // even the right password is not checked from there
    EXPECT_FALSE(after[0].matched.has_value());
    EXPECT_FALSE(after[1].refused);
    EXPECT_EQ(after[1].matched, LoginMethod::password);
    EXPECT_EQ(w.verified(), 4u);  // the refused attempt cost no hash
}

TEST_F(AuthWorkersTest, QueuedChecksAllCompleteThroughTheResultChannel) {
    // submit() only queues (how long that takes is a benchmark's business, not a test's); every
    // queued check comes back through the shard's result channel.
    AuthWorkerOptions o = options();
    o.argon2.memory_kib = 8192;
    o.argon2.iterations = 2;
    AuthWorkers w(o, 1);
    ASSERT_TRUE(w.start());
    const std::string h = *crypto::hash_password("pw", o.argon2);
    for (std::uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(w.submit(job(0, i, "pw", {{h, LoginMethod::password}})));
    auto results = collect(w, 0, 4);
    ASSERT_EQ(results.size(), 4u);
    for (const auto& r : results) EXPECT_EQ(r.matched, LoginMethod::password);
}

}  // namespace
}  // namespace vmx
