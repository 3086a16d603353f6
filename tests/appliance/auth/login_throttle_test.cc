// LoginThrottle and the network policy: failures slow an address and then refuse it, a user is only
// ever slowed (never locked out from elsewhere), counts expire with their window, memory is bounded.
#include "appliance/auth/login_throttle.h"

#include <gtest/gtest.h>

#include "appliance/auth/login_policy.h"

namespace vmx {
namespace {

constexpr std::int64_t t0 = 1'790'000'000;

LoginThrottleOptions small() {
    LoginThrottleOptions o;
    o.window_s = 60;
    o.address_free_failures = 2;
    o.address_refuse_failures = 5;
    o.user_free_failures = 3;
    o.delay_base_ms = 100;
    o.delay_max_ms = 400;
    o.entries_max = 8;
    return o;
}

TEST(LoginThrottleTest, FirstFailuresAreFreeThenDelaysDoubleUpToTheCap) {
    LoginThrottle t(small());
    EXPECT_EQ(t.failed("ann", "192.0.2.1", t0).delay_ms, 0u);
    EXPECT_EQ(t.failed("ann", "192.0.2.1", t0).delay_ms, 0u);
    EXPECT_EQ(t.failed("ann", "192.0.2.1", t0).delay_ms, 100u);  // address: 3rd failure
    EXPECT_EQ(t.failed("ann", "192.0.2.1", t0).delay_ms, 200u);
    EXPECT_EQ(t.failed("bob", "192.0.2.1", t0).delay_ms, 400u);  // counted per address, whatever the user
    EXPECT_EQ(t.failed("cat", "192.0.2.1", t0).delay_ms, 400u);  // capped
}

TEST(LoginThrottleTest, AnAddressIsRefusedButTheUserStillLogsInFromElsewhere) {
    LoginThrottle t(small());
    for (int i = 0; i < 5; ++i) t.failed("ann", "203.0.113.9", t0);
    EXPECT_TRUE(t.check("ann", "203.0.113.9", t0 + 1).refused);
    EXPECT_TRUE(t.check("bob", "203.0.113.9", t0 + 1).refused);  // the address, for any user
    const ThrottleDecision elsewhere = t.check("ann", "198.51.100.7", t0 + 1);
    EXPECT_FALSE(elsewhere.refused);
    EXPECT_EQ(elsewhere.delay_ms, 200u);  // the user's 5 failures slow, never refuse
    t.succeeded("ann");
    EXPECT_EQ(t.check("ann", "198.51.100.7", t0 + 2).delay_ms, 0u);
    EXPECT_TRUE(t.check("ann", "203.0.113.9", t0 + 2).refused);  // a success does not clear the address
}

TEST(LoginThrottleTest, CountsExpireWithTheirWindow) {
    LoginThrottle t(small());
    for (int i = 0; i < 6; ++i) t.failed("ann", "192.0.2.1", t0);
    EXPECT_TRUE(t.check("ann", "192.0.2.1", t0 + 59).refused);
    const ThrottleDecision later = t.check("ann", "192.0.2.1", t0 + 60);
    EXPECT_FALSE(later.refused);
    EXPECT_EQ(later.delay_ms, 0u);
    EXPECT_EQ(t.failed("ann", "192.0.2.1", t0 + 61).delay_ms, 0u);  // a fresh window
}

TEST(LoginThrottleTest, MemoryIsBoundedByEntriesMax) {
    LoginThrottle t(small());
    for (int i = 0; i < 100; ++i) t.failed("user" + std::to_string(i), "10.0.0." + std::to_string(i), t0 + i);
    EXPECT_LE(t.users_tracked(), 8u);
    EXPECT_LE(t.addresses_tracked(), 8u);
    // The newest attacker is still counted.
    t.failed("x", "10.0.0.99", t0 + 100);
    EXPECT_EQ(t.failed("x", "10.0.0.99", t0 + 100).delay_ms, 100u);
    EXPECT_LE(t.addresses_tracked(), 8u);
}

TEST(Pop3PolicyTest, AllowedNetworks) {
    EXPECT_TRUE(address_allowed("192.0.2.1", {}));
    EXPECT_TRUE(address_allowed("192.0.2.1", {"192.0.2.0/24"}));
    EXPECT_FALSE(address_allowed("192.0.3.1", {"192.0.2.0/24"}));
    EXPECT_TRUE(address_allowed("10.9.8.7", {"192.0.2.0/24", "10.0.0.0/8"}));
    EXPECT_TRUE(address_allowed("127.0.0.1", {"127.0.0.1"}));
    EXPECT_TRUE(address_allowed("::ffff:192.0.2.44", {"192.0.2.0/25"}));
    EXPECT_TRUE(address_allowed("2001:db8::1", {"2001:db8::/32"}));
    EXPECT_FALSE(address_allowed("2001:db9::1", {"2001:db8::/32"}));
    EXPECT_FALSE(address_allowed("192.0.2.1", {"2001:db8::/32"}));
    EXPECT_TRUE(address_allowed("203.0.113.5", {"0.0.0.0/0"}));
    EXPECT_TRUE(address_allowed("172.16.5.4", {"172.16.0.0/12"}));
    EXPECT_FALSE(address_allowed("172.32.0.1", {"172.16.0.0/12"}));
    EXPECT_FALSE(address_allowed("192.0.2.1", {"garbage"}));       // fails closed
    EXPECT_FALSE(address_allowed("192.0.2.1", {"192.0.2.0/33"}));
    EXPECT_FALSE(address_allowed("not an ip", {"0.0.0.0/0"}));
}

}  // namespace
}  // namespace vmx
