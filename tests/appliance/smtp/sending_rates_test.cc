// Hourly submission limits per user on an explicit clock: the limits, the sliding hour (the previous
// clock hour counted in proportion), refusals that count nothing, users apart, and the sweep.
#include "appliance/smtp/sending_rates.h"

#include <gtest/gtest.h>

namespace vmx {
namespace {

constexpr std::int64_t hour = 1'800'000'000 - 1'800'000'000 % 3600;  // the start of a clock hour

TEST(HourlyCounts, MessagesAndRecipientsEachHaveTheirLimit) {
    HourlyCounts counts;
    const HourlyLimits limits{3, 10};
    EXPECT_TRUE(counts.take(1, 4, limits, hour));
    EXPECT_TRUE(counts.take(1, 4, limits, hour + 1));
    EXPECT_FALSE(counts.take(1, 3, limits, hour + 2));  // 11 recipients
    EXPECT_TRUE(counts.take(1, 2, limits, hour + 3));   // the refusal counted nothing
    EXPECT_FALSE(counts.take(1, 0, limits, hour + 4));  // a fourth message
    EXPECT_TRUE(counts.take(2, 10, limits, hour + 5));  // another user has their own hour
    EXPECT_FALSE(counts.take(3, 11, limits, hour + 6)); // one message over the recipient limit alone
}

TEST(HourlyCounts, ZeroMeansNoLimit) {
    HourlyCounts counts;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(counts.take(1, 1000, HourlyLimits{0, 0}, hour + i));
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(counts.take(2, 1, HourlyLimits{0, 5}, hour + i));  // messages unlimited
    EXPECT_FALSE(counts.take(2, 1, HourlyLimits{0, 5}, hour + 5));
}

TEST(HourlyCounts, ThePreviousHourFadesOut) {
    HourlyCounts counts;
    const HourlyLimits limits{10, 0};
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(counts.take(1, 1, limits, hour + 3000));
    EXPECT_FALSE(counts.take(1, 1, limits, hour + 3599));
    // A quarter into the next hour, three quarters of the last hour's 10 still count (7): three more.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(counts.take(1, 1, limits, hour + 3600 + 900));
    EXPECT_FALSE(counts.take(1, 1, limits, hour + 3600 + 900));
    // Two hours on, nothing of it is left.
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(counts.take(1, 1, limits, hour + 3 * 3600));
}

TEST(HourlyCounts, IdleUsersAreSweptAway) {
    HourlyCounts counts;
    for (std::uint64_t u = 1; u <= 1024; ++u) EXPECT_TRUE(counts.take(u, 1, HourlyLimits{1, 0}, hour));
    EXPECT_EQ(counts.users(), 1024u);
    EXPECT_TRUE(counts.take(5000, 1, HourlyLimits{1, 0}, hour + 3 * 3600));
    EXPECT_EQ(counts.users(), 1u);
}

}  // namespace
}  // namespace vmx
