// Login bans on an explicit clock: the count within the window, the ban's length, exempt networks,
// lifting, and the bound on what is remembered.
#include "appliance/auth/ban_list.h"

#include <gtest/gtest.h>

namespace vmx {
namespace {

BanOptions options() {
    BanOptions o;
    o.failures = 3;
    o.window_s = 60;
    o.duration_s = 600;
    o.bans_max = 16;
    o.exempt = NetworkList::parse({"10.0.0.0/8"});
    return o;
}

TEST(BanList, FailuresWithinTheWindowBan) {
    BanList bans(options(), nullptr, nullptr);
    EXPECT_FALSE(bans.failed_login("192.0.2.1", 1000));
    EXPECT_FALSE(bans.failed_login("192.0.2.1", 1010));
    EXPECT_FALSE(bans.banned("192.0.2.1", 1010));
    EXPECT_TRUE(bans.failed_login("192.0.2.1", 1020));
    EXPECT_TRUE(bans.banned("192.0.2.1", 1020));
    EXPECT_TRUE(bans.banned("192.0.2.1", 1619));
    EXPECT_FALSE(bans.banned("192.0.2.1", 1620));  // the ban ends
    EXPECT_FALSE(bans.banned("192.0.2.2", 1020));  // only that address
    ASSERT_EQ(bans.list(1100).size(), 1u);
    EXPECT_EQ(bans.list(1100)[0].failures, 3u);
    EXPECT_TRUE(bans.list(1700).empty());
}

TEST(BanList, SlowFailuresNeverBan) {
    BanList bans(options(), nullptr, nullptr);
    for (std::int64_t t = 0; t < 600; t += 40) EXPECT_FALSE(bans.failed_login("192.0.2.1", t));
    EXPECT_FALSE(bans.banned("192.0.2.1", 600));
}

TEST(BanList, ExemptNetworksAreNeverBanned) {
    BanList bans(options(), nullptr, nullptr);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(bans.failed_login("10.1.2.3", 100));
    EXPECT_FALSE(bans.banned("10.1.2.3", 100));
    EXPECT_TRUE(bans.exempt("10.1.2.3"));
    EXPECT_FALSE(bans.exempt("192.0.2.1"));
}

TEST(BanList, RemoveLiftsAndForgets) {
    BanList bans(options(), nullptr, nullptr);
    for (int i = 0; i < 3; ++i) bans.failed_login("2001:db8::1", 100);
    ASSERT_TRUE(bans.banned("2001:db8::1", 101));
    auto removed = bans.remove("2001:db8::1");
    ASSERT_TRUE(removed.has_value());
    EXPECT_TRUE(*removed);
    EXPECT_FALSE(bans.banned("2001:db8::1", 101));
    EXPECT_FALSE(bans.failed_login("2001:db8::1", 102));  // counting starts over
    auto again = bans.remove("2001:db8::9");
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(*again);
}

TEST(BanList, OffWhenFailuresIsZero) {
    BanOptions o = options();
    o.failures = 0;
    BanList bans(o, nullptr, nullptr);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(bans.failed_login("192.0.2.1", 100));
    EXPECT_FALSE(bans.banned("192.0.2.1", 100));
}

TEST(BanList, RemembersAtMostBansMax) {
    BanList bans(options(), nullptr, nullptr);
    for (int i = 0; i < 1000; ++i) bans.failed_login("192.0.2." + std::to_string(i % 250) + "." + std::to_string(i), 100);
    for (int i = 0; i < 3; ++i) bans.failed_login("198.51.100.1", 200);
    EXPECT_TRUE(bans.banned("198.51.100.1", 201));
    EXPECT_LE(bans.list(201).size(), 16u);
}

}  // namespace
}  // namespace vmx
