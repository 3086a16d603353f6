// LeaseKeeper on a real space (an LmdbSpace; its leases are the seam's, as RADOS locks are): leases
// granted, refused while another holder runs one, renewed past their duration, given back at release
// and at stop, and reported lost when another holder broke them.
#include "store/lease_keeper.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "store/lmdb_space.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// Answers as they arrive on the keeper's thread.
class Answers {
public:
    LeaseKeeper::Done take() {
        return [this](LeaseOutcome o) {
            std::lock_guard lock(mutex_);
            outcomes_.push_back(o);
            changed_.notify_all();
        };
    }
    LeaseKeeper::Lost lost() {
        return [this](const std::string& name) {
            std::lock_guard lock(mutex_);
            lost_.push_back(name);
            changed_.notify_all();
        };
    }
    std::optional<LeaseOutcome> next(std::chrono::milliseconds wait = 5s) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, wait, [this] { return read_ < outcomes_.size(); })) return std::nullopt;
        return outcomes_[read_++];
    }
    bool lost_one(std::chrono::milliseconds wait) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, wait, [this] { return !lost_.empty(); });
    }
    std::vector<std::string> lost_names() {
        std::lock_guard lock(mutex_);
        return lost_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<LeaseOutcome> outcomes_;
    std::vector<std::string> lost_;
    std::size_t read_ = 0;
};

class LeaseKeeperTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = LmdbSpace::open(dir_.path());
        ASSERT_TRUE(s) << s.error().message();
        space_ = std::move(*s);
    }
    LeaseOptions quick(std::uint32_t duration_ms = 600, std::uint32_t renew_ms = 150) {
        LeaseOptions o;
        o.duration_ms = duration_ms;
        o.renew_ms = renew_ms;
        return o;
    }

    TempDir dir_;
    std::unique_ptr<LmdbSpace> space_;
};

TEST_F(LeaseKeeperTest, OneHolderAtATimeAndAReleaseFreesItAtOnce) {
    Answers a_answers;
    Answers b_answers;
    LeaseKeeper a(*space_, "node1.a", quick(), a_answers.lost());
    LeaseKeeper b(*space_, "node2.b", quick(), b_answers.lost());
    a.start();
    b.start();
    ASSERT_TRUE(a.acquire("pop3.7", a_answers.take()));
    EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::busy);
    ASSERT_TRUE(b.acquire("pop3.8", b_answers.take()));  // another maildrop is free
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);
    a.release("pop3.7");
    // The release runs before anything asked after it.
    ASSERT_TRUE(a.acquire("pop3.9", a_answers.take()));
    EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);
    EXPECT_EQ(a.held(), 1u);
    EXPECT_EQ(b.held(), 2u);
}

TEST_F(LeaseKeeperTest, AHeldLeaseIsRenewedPastItsDuration) {
    Answers a_answers;
    Answers b_answers;
    LeaseKeeper a(*space_, "node1.a", quick(), a_answers.lost());
    LeaseKeeper b(*space_, "node2.b", quick(), b_answers.lost());
    a.start();
    b.start();
    ASSERT_TRUE(a.acquire("pop3.7", a_answers.take()));
    ASSERT_EQ(a_answers.next(), LeaseOutcome::granted);
    std::this_thread::sleep_for(1500ms);  // two and a half durations
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::busy);
    EXPECT_TRUE(a_answers.lost_names().empty());
}

TEST_F(LeaseKeeperTest, ALeaseNoLongerRenewedRunsOutForTheNextHolder) {
    Answers b_answers;
    // Another node took it and died: nobody renews it.
    ASSERT_TRUE(space_->acquire_lease("pop3.7", "node1.dead", 400));
    LeaseKeeper b(*space_, "node2.b", quick(), b_answers.lost());
    b.start();
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::busy);
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);
}

TEST_F(LeaseKeeperTest, StopGivesEveryLeaseBackAndAnswersWhatWaits) {
    Answers a_answers;
    Answers b_answers;
    LeaseKeeper b(*space_, "node2.b", quick(30000, 10000), b_answers.lost());
    b.start();
    {
        LeaseKeeper a(*space_, "node1.a", quick(30000, 10000), a_answers.lost());
        a.start();
        ASSERT_TRUE(a.acquire("pop3.1", a_answers.take()));
        ASSERT_TRUE(a.acquire("pop3.2", a_answers.take()));
        EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
        EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
        a.stop();
        EXPECT_FALSE(a.acquire("pop3.3", a_answers.take()));  // a stopped keeper takes nothing
    }
    ASSERT_TRUE(b.acquire("pop3.1", b_answers.take()));
    ASSERT_TRUE(b.acquire("pop3.2", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);  // long before the 30 s duration
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);
}

TEST_F(LeaseKeeperTest, ALeaseAnotherHolderBrokeIsReportedLostAndForgotten) {
    Answers a_answers;
    LeaseKeeper a(*space_, "node1.a", quick(), a_answers.lost());
    a.start();
    ASSERT_TRUE(a.acquire("pop3.7", a_answers.take()));
    ASSERT_EQ(a_answers.next(), LeaseOutcome::granted);
    // An operator broke the lock and another node took the maildrop.
    ASSERT_TRUE(space_->release_lease("pop3.7", "node1.a"));
    ASSERT_TRUE(space_->acquire_lease("pop3.7", "node2.b", 30000));
    ASSERT_TRUE(a_answers.lost_one(3s));
    EXPECT_EQ(a_answers.lost_names(), std::vector<std::string>{"pop3.7"});
    EXPECT_EQ(a.held(), 0u);
    // Its release later touches nothing of the new holder's.
    a.release("pop3.7");
    Answers c_answers;
    LeaseKeeper c(*space_, "node3.c", quick(), c_answers.lost());
    c.start();
    ASSERT_TRUE(c.acquire("pop3.7", c_answers.take()));
    EXPECT_EQ(c_answers.next(), LeaseOutcome::busy);
}

TEST_F(LeaseKeeperTest, AReleaseMadeBeforeTheAnswerGivesBackWhatWasGranted) {
    Answers a_answers;
    Answers b_answers;
    LeaseKeeper a(*space_, "node1.a", quick(), a_answers.lost());
    LeaseKeeper b(*space_, "node2.b", quick(), b_answers.lost());
    ASSERT_TRUE(a.acquire("pop3.7", a_answers.take()));  // queued before the thread runs
    a.release("pop3.7");
    a.start();
    EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
    b.start();
    ASSERT_TRUE(b.acquire("pop3.7", b_answers.take()));
    EXPECT_EQ(b_answers.next(), LeaseOutcome::granted);
    EXPECT_EQ(a.held(), 0u);
}

}  // namespace
}  // namespace vmx::store
