// Local delivery's two halves on real shards and a real store: the accepting shard's queue half
// (accept, hand-off, settle, removal) and the owner shard's mailbox half (append with its marker,
// the report back), with a clock the test moves and a mesh link that can drop reports. Each test of
// a bug here failed before its fix: a refused lane write crashed the shard (bad_function_call), a
// dropped report stranded its queue entry. The marker clean-up runs on the same fixture.
#include "appliance/delivery/local_delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include "appliance/common/message_kinds.h"
#include "appliance/daemon/shard_wiring.h"
#include "appliance/delivery/retry_policy.h"
#include "appliance/jobs/marker_cleanup.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::kTestStart;
using testing::TestEngine;
using testing::TestTenant;
using testing::wait_for;

// The tenant, and shards whose local delivery has the test's clock and mesh link.
struct Fixture : TestTenant {
    // off_shard: accounts, markers and writers are read by store readers, as on a store shared by nodes.
    // answer_after_hand_off: as on a shared store, an accept is answered once its hand-offs are reported.
    explicit Fixture(std::uint32_t lane_queue_capacity = 4096, bool off_shard = false, bool answer_late = false)
        : answer_after_hand_off(answer_late) {
        local_user = add_user_on(0, "local");
        remote_user = add_user_on(1, "remote");
        tiny_user = add_user("tiny@example.test", "", 10);
        if (off_shard) {
            readers = std::make_unique<StoreReaders>(StoreReaderOptions{2, 64}, 2);
            readers->start();
        }
        engine = std::make_unique<TestEngine>([this, lane_queue_capacity](Shard& shard) {
            return make_context(shard, lane_queue_capacity);
        });
    }

    Result<std::unique_ptr<ShardLocal>> make_context(Shard& shard, std::uint32_t lane_queue_capacity) {
        ShardStoreOptions options;
        options.sweep_interval_ms = 0;
        options.lane.queue_capacity = lane_queue_capacity;
        auto s = ShardStore::open(shard, *envs, *handles, options, keys);
        if (!s) return fail(s.error());
        auto context = std::make_unique<ShardContext>();
        context->store = std::move(*s);
        if (readers) context->reads = std::make_unique<ShardReads>(shard, *readers);
        context->writes = std::make_unique<MailboxWrites>(*context->store, MailboxWritesOptions{0}, context->reads.get());
        DeliveryOptions delivery;
        delivery.retry = {1, 1, 3600};
        delivery.removal_batch_ms = 1;
        delivery.answer_after_hand_off = answer_after_hand_off;
        delivery.now_unix = [this] { return clock_unix.load(); };
        // Replies (the delivery reports) can be refused, as a full inbox does.
        context->calls = std::make_unique<ShardCalls>(shard, 1000, [this, &shard](std::uint32_t to, Message&& m) -> Result<void> {
            if (m.kind == message_reply && reports_to_drop.fetch_sub(1) > 0)
                return fail(std::make_error_code(std::errc::no_buffer_space));
            return shard.send_message(to, std::move(m));
        });
        context->delivery = std::make_unique<LocalDelivery>(shard, *context->store, *context->writes, *directory,
                                                            *context->calls, delivery, context->reads.get());
        context->marker_cleanup = std::make_unique<MarkerCleanup>(*context->store, MarkerCleanupOptions{3'600'000, 2});
        return std::unique_ptr<ShardLocal>(std::move(context));
    }

    store::Envelope envelope_to(std::initializer_list<std::uint64_t> users) const {
        store::Envelope e;
        e.sender = "someone@remote.test";
        e.arrival_unix = clock_unix.load();
        e.client_address = "192.0.2.1";
        for (std::uint64_t u : users) {
            store::Recipient r;
            r.address = "user@example.test";
            r.user_id = u;
            e.recipients.push_back(r);
        }
        return e;
    }

    // Queues a message on shard 0 (its queue) and returns what `done` said.
    AcceptOutcome accept_on_shard0(store::Envelope envelope) {
        std::promise<AcceptOutcome> outcome;
        engine->on_shard(0, [&](ShardContext& c) {
            c.delivery->accept(std::move(envelope), std::make_shared<const std::string>(body),
                               [&outcome](AcceptOutcome o, const std::string&) { outcome.set_value(o); });
        });
        auto f = outcome.get_future();
        VMX_ASSERT(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        return f.get();
    }

    const DeliveryStats& stats(std::uint32_t s) { return engine->context(s).delivery->stats(); }
    const MarkerCleanupStats& markers(std::uint32_t s) { return engine->context(s).marker_cleanup->stats(); }
    std::size_t count(std::uint64_t user) { return messages_of(user).size(); }

    std::uint64_t local_user = 0;   // mailbox on shard 0, where the queue is
    std::uint64_t remote_user = 0;  // mailbox on shard 1
    std::uint64_t tiny_user = 0;    // quota of 10 bytes: every append is refused (temporary)
    std::atomic<std::int64_t> clock_unix{kTestStart};
    std::atomic<int> reports_to_drop{0};
    std::string body = "Subject: test\r\n\r\nhello\r\n";
    bool answer_after_hand_off = false;
    std::unique_ptr<StoreReaders> readers;  // before the engine: its shards' reads end first
    std::unique_ptr<TestEngine> engine;     // last: stops before the store closes
};

TEST(LocalDeliveryTest, DeliversOnEveryShardThenEmptiesTheQueue) {
    Fixture f;
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(0).queued.load(), 0u);
    EXPECT_EQ(f.stats(0).delivered.load() + f.stats(1).delivered.load(), 2u);
    EXPECT_EQ(f.count(f.local_user), 1u);
    EXPECT_EQ(f.count(f.remote_user), 1u);
}

// Before the fix the owner shard logged the dropped report and forgot it: the entry stayed queued
// (outstanding hand-offs, so no retry either) until a restart.
TEST(LocalDeliveryTest, DroppedReportIsSentAgainAndTheEntryLeaves) {
    Fixture f;
    f.reports_to_drop = 3;
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.engine->context(1).calls->replies_retried(), 3u);
    EXPECT_EQ(f.stats(0).queued.load(), 0u);
    EXPECT_EQ(f.count(f.remote_user), 1u);  // once: the retried report carried no second append
}

// Off the shard, the same: each recipient once, a full mailbox a temporary failure, and reports
// sent again carry no second append.
TEST(LocalDeliveryTest, ReadsOffTheShardDeliverEachRecipientOnce) {
    Fixture f(4096, true);
    f.reports_to_drop = 2;
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(0).delivered.load() + f.stats(1).delivered.load(), 2u);
    EXPECT_EQ(f.count(f.local_user), 1u);
    EXPECT_EQ(f.count(f.remote_user), 1u);
    EXPECT_GE(f.readers->reads(), 4u);  // each recipient's account and marker, each mailbox's writer
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.tiny_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).temp_failures.load() + f.stats(1).temp_failures.load() >= 1; }));
    EXPECT_EQ(f.count(f.tiny_user), 0u);
}

// As on a shared store: the answer (the SMTP 250) comes once the mailboxes have the message, so a
// node that dies right after it has nothing acknowledged that other nodes cannot read. A hand-off
// that fails for now still gets its answer: the message waits in the queue.
TEST(LocalDeliveryTest, AnAnswerAfterTheHandOffFindsTheMessageInTheMailboxes) {
    Fixture f(4096, true, true);
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    EXPECT_EQ(f.count(f.local_user), 1u);  // at once: no waiting for delivery
    EXPECT_EQ(f.count(f.remote_user), 1u);
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.tiny_user})), AcceptOutcome::stored);
    EXPECT_EQ(f.count(f.tiny_user), 0u);
    EXPECT_EQ(f.stats(0).temp_failures.load(), 1u);  // over quota for now: it waits in the queue
}

// Before the fix the second accept called a moved-from std::function: bad_function_call on the
// shard thread, and the process ended.
TEST(LocalDeliveryTest, WriteTheLaneRefusesAnswersFullOnceAndTheShardLivesOn) {
    Fixture f(/*lane_queue_capacity=*/1);
    std::vector<AcceptOutcome> outcomes;
    std::promise<void> both;
    f.engine->on_shard(0, [&](ShardContext& c) {
        for (int i = 0; i < 2; ++i)
            c.delivery->accept(f.envelope_to({f.local_user}), std::make_shared<const std::string>(f.body),
                               [&](AcceptOutcome o, const std::string&) {
                                   outcomes.push_back(o);
                                   if (outcomes.size() == 2) both.set_value();
                               });
    });
    ASSERT_EQ(both.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    // The second write met a full lane and was answered at once; the first became durable.
    EXPECT_EQ(outcomes, (std::vector<AcceptOutcome>{AcceptOutcome::full, AcceptOutcome::stored}));
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.count(f.local_user), 1u);
    // The shard still works.
    EXPECT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.count(f.local_user) == 2; }));
}

// The clock decides when a temporary failure becomes permanent: a message queued for the whole
// lifetime bounces at its next failure, a fresh one is kept for its retry.
TEST(LocalDeliveryTest, TemporaryFailureIsKeptUntilTheLifetimeEnds) {
    Fixture f;
    store::Envelope old = f.envelope_to({f.tiny_user});
    old.arrival_unix = kTestStart - 3600;
    ASSERT_EQ(f.accept_on_shard0(old), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(0).perm_failures.load(), 1u);

    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.tiny_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).temp_failures.load() >= 1; }));
    EXPECT_EQ(f.stats(0).queued.load(), 1u);
    EXPECT_EQ(f.stats(0).perm_failures.load(), 1u);
    // An hour later (past the lifetime), its next retry gives up.
    f.clock_unix = kTestStart + 3601;
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 2; }));
    EXPECT_EQ(f.stats(0).perm_failures.load(), 2u);
}

// Markers of removed entries go; a marker whose entry still waits for another recipient stays.
TEST(MarkerCleanupTest, RemovesTheMarkersOfGoneEntriesOnly) {
    Fixture f;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.stats(0).removed.load() == 5; }));
    // This entry stays queued (the tiny mailbox refuses) while its other recipient has a marker.
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user, f.tiny_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_for([&] { return f.count(f.remote_user) == 6 && f.count(f.local_user) == 6; }));
    ASSERT_EQ(f.markers_in(0) + f.markers_in(1), 12u);

    for (std::uint32_t s = 0; s < 2; ++s) f.engine->on_shard(s, [](ShardContext& c) { c.marker_cleanup->run_pass(); });
    ASSERT_TRUE(wait_for([&] { return f.markers(0).passes.load() == 1 && f.markers(1).passes.load() == 1; }));
    EXPECT_EQ(f.markers_in(0), 1u);
    EXPECT_EQ(f.markers_in(1), 1u);
    EXPECT_EQ(f.markers(0).removed.load() + f.markers(1).removed.load(), 10u);
    EXPECT_EQ(f.markers(0).live.load() + f.markers(1).live.load(), 2u);
    EXPECT_EQ(f.markers(0).failures.load() + f.markers(1).failures.load(), 0u);
}

TEST(RetryPolicyTest, DoublesFromTheFirstDelayUpToTheLongestAndGivesUpAfterTheLifetime) {
    const RetryPolicy p{300, 3600, 5 * 86400};
    EXPECT_EQ(next_retry(p, 1, 0, 1000).next_try_unix, 1300);
    EXPECT_EQ(next_retry(p, 2, 0, 1000).next_try_unix, 1600);
    EXPECT_EQ(next_retry(p, 4, 0, 1000).next_try_unix, 1000 + 2400);
    EXPECT_EQ(next_retry(p, 5, 0, 1000).next_try_unix, 1000 + 3600);    // 4800 capped
    EXPECT_EQ(next_retry(p, 1000, 0, 1000).next_try_unix, 1000 + 3600);  // no overflow
    EXPECT_FALSE(next_retry(p, 1, 0, 1000).give_up);
    EXPECT_FALSE(next_retry(p, 3, 0, 5 * 86400 - 3600).give_up);       // the next try is just in time
    EXPECT_TRUE(next_retry(p, 9, 0, 5 * 86400 - 3599).give_up);        // the next try would be too late
}

}  // namespace
}  // namespace vmx
