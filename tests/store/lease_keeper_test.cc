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

// One node's keeper (on one space, or several), started, and what it was told.
struct Node {
    Node(Space& space, std::string holder, LeaseOptions options) : Node({&space}, std::move(holder), options) {}
    Node(std::vector<Space*> spaces, std::string holder, LeaseOptions options)
        : keeper(std::move(spaces), std::move(holder), options, answers.lost()) {
        keeper.start();
    }
    // Asks for the lease and waits for the answer.
    std::optional<LeaseOutcome> ask(const std::string& name, std::uint32_t space = 0) {
        if (!keeper.acquire(space, name, answers.take())) return std::nullopt;
        return answers.next();
    }
    Answers answers;
    LeaseKeeper keeper;
};

class LeaseKeeperTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = LmdbSpace::open(dir_.path());
        ASSERT_TRUE(s) << s.error().message();
        space_ = std::move(*s);
    }
    static LeaseOptions quick(std::uint32_t duration_ms = 5000, std::uint32_t renew_ms = 1000) {
        LeaseOptions o;
        o.duration_ms = duration_ms;
        o.renew_ms = renew_ms;
        return o;
    }

    TempDir dir_;
    std::unique_ptr<LmdbSpace> space_;
};

TEST_F(LeaseKeeperTest, OneHolderAtATimeAndAReleaseFreesItAtOnce) {
    Node a(*space_, "node1.a", quick());
    Node b(*space_, "node2.b", quick());
    EXPECT_EQ(a.ask("pop3.7"), LeaseOutcome::granted);
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::busy);
    EXPECT_EQ(b.ask("pop3.8"), LeaseOutcome::granted);  // another maildrop is free
    a.keeper.release(0, "pop3.7");
    EXPECT_EQ(a.ask("pop3.9"), LeaseOutcome::granted);  // the release ran before what was asked after it
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::granted);
    EXPECT_EQ(a.keeper.held(), 1u);
    EXPECT_EQ(b.keeper.held(), 2u);
}

TEST_F(LeaseKeeperTest, AHeldLeaseIsRenewedPastItsDuration) {
    // Renewed each 300 ms: it lives on while the keeper's thread never stalls for 1.7 s.
    Node a(*space_, "node1.a", quick(2000, 300));
    Node b(*space_, "node2.b", quick());
    ASSERT_EQ(a.ask("pop3.7"), LeaseOutcome::granted);
    std::this_thread::sleep_for(4500ms);  // over two durations
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::busy);
    EXPECT_TRUE(a.answers.lost_names().empty());
}

TEST_F(LeaseKeeperTest, ALeaseNoLongerRenewedRunsOutForTheNextHolder) {
    // Another node took it and died: nobody renews it.
    ASSERT_TRUE(space_->acquire_lease("pop3.7", "node1.dead", 2000));
    Node b(*space_, "node2.b", quick());
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::busy);
    std::this_thread::sleep_for(2200ms);
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::granted);
}

TEST_F(LeaseKeeperTest, StopGivesEveryLeaseBackAndTakesNothingAfter) {
    Node b(*space_, "node2.b", quick(30000, 10000));
    {
        Node a(*space_, "node1.a", quick(30000, 10000));
        EXPECT_EQ(a.ask("pop3.1"), LeaseOutcome::granted);
        EXPECT_EQ(a.ask("pop3.2"), LeaseOutcome::granted);
        a.keeper.stop();
        EXPECT_EQ(a.ask("pop3.3"), std::nullopt);  // a stopped keeper takes nothing
    }
    EXPECT_EQ(b.ask("pop3.1"), LeaseOutcome::granted);  // long before the 30 s duration
    EXPECT_EQ(b.ask("pop3.2"), LeaseOutcome::granted);
}

TEST_F(LeaseKeeperTest, ALeaseAnotherHolderBrokeIsReportedLostAndForgotten) {
    Node a(*space_, "node1.a", quick());
    ASSERT_EQ(a.ask("pop3.7"), LeaseOutcome::granted);
    // An operator broke the lock and another node took the maildrop.
    ASSERT_TRUE(space_->release_lease("pop3.7", "node1.a"));
    ASSERT_TRUE(space_->acquire_lease("pop3.7", "node2.b", 30000));
    ASSERT_TRUE(a.answers.lost_one(3s));
    EXPECT_EQ(a.answers.lost_names(), std::vector<std::string>{"pop3.7"});
    EXPECT_EQ(a.keeper.held(), 0u);
    a.keeper.release(0, "pop3.7");  // touches nothing of the new holder's
    Node c(*space_, "node3.c", quick());
    EXPECT_EQ(c.ask("pop3.7"), LeaseOutcome::busy);
}

TEST_F(LeaseKeeperTest, AReleaseMadeBeforeTheAnswerGivesBackWhatWasGranted) {
    Answers a_answers;
    LeaseKeeper a({space_.get()}, "node1.a", quick(), a_answers.lost());
    ASSERT_TRUE(a.acquire(0, "pop3.7", a_answers.take()));  // queued before the thread runs
    a.release(0, "pop3.7");
    a.start();
    EXPECT_EQ(a_answers.next(), LeaseOutcome::granted);
    Node b(*space_, "node2.b", quick());
    EXPECT_EQ(b.ask("pop3.7"), LeaseOutcome::granted);
    EXPECT_EQ(a.held(), 0u);
}

// Each lease lives in the space it was asked in (a segment's): held, renewed and given back there.
TEST_F(LeaseKeeperTest, LeasesLiveInTheSpaceTheyWereAskedIn) {
    TempDir other_dir;
    auto other = LmdbSpace::open(other_dir.path());
    ASSERT_TRUE(other);
    Node b(std::vector<Space*>{space_.get(), other->get()}, "node2.b", quick(30000, 10000));
    {
        Node a(std::vector<Space*>{space_.get(), other->get()}, "node1.a", quick(2000, 300));
        EXPECT_EQ(a.ask("pop3.1", 0), LeaseOutcome::granted);
        EXPECT_EQ(a.ask("pop3.2", 1), LeaseOutcome::granted);
        EXPECT_FALSE(a.keeper.acquire(2, "pop3.3", a.answers.take()));  // no such space
        auto in_other = (*other)->acquire_lease("pop3.2", "node9.x", 1000);
        ASSERT_FALSE(in_other);  // held there
        EXPECT_EQ(in_other.error(), StoreErrc::lease_busy);
        EXPECT_TRUE(space_->acquire_lease("pop3.2", "node9.x", 1000));  // not in the first space
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // renewed in its own space
        EXPECT_EQ(b.ask("pop3.1", 0), LeaseOutcome::busy);
        EXPECT_EQ(b.ask("pop3.2", 1), LeaseOutcome::busy);
    }
    EXPECT_EQ(b.ask("pop3.1", 0), LeaseOutcome::granted);  // given back in both at stop
    EXPECT_EQ(b.ask("pop3.2", 1), LeaseOutcome::granted);
}

}  // namespace
}  // namespace vmx::store
