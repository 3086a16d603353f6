// UsageBudget: rotation is due at half the limit, take() stops exactly at the limit, reserves
// nothing when it fails, and counts exactly under concurrent use.
#include "crypto/usage_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace vmx::crypto {
namespace {

TEST(UsageBudget, DefaultLimitIsTwoToThe31) {
    const UsageBudget budget;
    EXPECT_EQ(budget.limit(), std::uint64_t{1} << 31);
    EXPECT_EQ(budget.used(), 0u);
    EXPECT_FALSE(budget.rotation_due());
}

TEST(UsageBudget, RotationDueAtHalfAndExhaustedAtLimit) {
    UsageBudget budget(10);
    ASSERT_TRUE(budget.take(4));
    EXPECT_FALSE(budget.rotation_due());
    ASSERT_TRUE(budget.take());
    EXPECT_TRUE(budget.rotation_due());  // 5 of 10
    EXPECT_EQ(budget.take(6).error(), CryptoErrc::usage_exhausted);  // would reach 11
    EXPECT_EQ(budget.used(), 5u);                                    // nothing reserved
    ASSERT_TRUE(budget.take(5));                                     // exactly the limit
    EXPECT_EQ(budget.take().error(), CryptoErrc::usage_exhausted);
    EXPECT_EQ(budget.take(std::uint64_t{1} << 63).error(), CryptoErrc::usage_exhausted);
    EXPECT_EQ(budget.used(), 10u);
}

TEST(UsageBudget, LargeTakesDoNotWrap) {
    UsageBudget budget(UINT64_MAX);
    ASSERT_TRUE(budget.take(UINT64_MAX - 1));
    EXPECT_EQ(budget.take(2).error(), CryptoErrc::usage_exhausted);
    EXPECT_TRUE(budget.take(1));
}

TEST(UsageBudget, ExactUnderContention) {
    UsageBudget budget(30000);
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i)
                if (budget.take()) granted.fetch_add(1);
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(granted.load(), 30000);
    EXPECT_EQ(budget.used(), 30000u);
}

}  // namespace
}  // namespace vmx::crypto
