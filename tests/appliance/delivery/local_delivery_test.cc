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
#include "appliance/directory/directory.h"
#include "appliance/jobs/marker_cleanup.h"
#include "core/engine.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

using store::testing::TempDir;

constexpr std::uint32_t kSegments = 2;  // with two shards: segment s is owned by shard s
constexpr std::int64_t kStart = 1'800'000'000;

// A function the test runs on a shard's own thread.
struct RunOnShard final : MessagePayload {
    std::function<void(Shard&)> fn;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
}

struct Fixture {
    explicit Fixture(std::uint32_t lane_queue_capacity = 4096) {
        store::StoreOptions o;
        o.sizing.segments = kSegments;
        o.sizing.mail_map_mib = 8;
        o.sizing.queue_map_mib = 4;
        o.sizing.temp_map_mib = 4;
        o.sizing.global_map_mib = 4;
        o.sizing.map_mib_max = 64;
        VMX_ASSERT(store::StoreLayout::init(dir.path(), o));
        auto l = store::StoreLayout::open(dir.path(), o);
        VMX_ASSERT(l);
        layout = std::make_unique<store::StoreLayout>(std::move(*l));
        auto all = store::StoreEnvironments::open(*layout);
        VMX_ASSERT(all);
        envs = std::make_unique<store::StoreEnvironments>(std::move(*all));
        auto h = store::StoreHandles::open(*envs, store::TempOptions{});
        VMX_ASSERT(h);
        handles = std::make_unique<store::StoreHandles>(std::move(*h));
        auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x61));
        VMX_ASSERT(ring.ensure_scope_key(appliance_scope, kStart));
        VMX_ASSERT(ring.ensure_scope_key({crypto::ScopeKind::shared, 0}, kStart));
        keys = ring.snapshot();
        auto denv = store::Env::open(dir.sub("directory"), layout->env_options(store::GlobalKind::directory));
        VMX_ASSERT(denv);
        directory_env = std::move(*denv);
        auto index_key = Directory::derive_index_key(vmx::testing::fixed_master_key(0x61).material.view());
        auto d = Directory::open(*directory_env, std::move(*index_key));
        VMX_ASSERT(d);
        directory = std::make_unique<Directory>(std::move(*d));
        VMX_ASSERT(directory->add_org(*keys, "Org", crypto::Plan::starter, kStart));
        VMX_ASSERT(directory->add_domain(*keys, "example.test", "Org", kStart));
        // Users until one mailbox lives on each shard; and one whose quota no message fits.
        for (int i = 0; !(local_user && remote_user); ++i) {
            auto u = directory->add_user(*keys, "user" + std::to_string(i) + "@example.test", "", 0, kStart);
            VMX_ASSERT(u);
            std::uint64_t& slot = store::segment_of(u->id, kSegments) == 0 ? local_user : remote_user;
            if (slot == 0) slot = u->id;
        }
        auto tiny = directory->add_user(*keys, "tiny@example.test", "", 10, kStart);
        VMX_ASSERT(tiny);
        tiny_user = tiny->id;
        start(lane_queue_capacity);
    }

    ~Fixture() {
        engine->request_stop();
        engine->join();
    }

    void start(std::uint32_t lane_queue_capacity) {
        EngineConfig c;
        c.shards = 2;
        c.recv_buffers = 16;
        c.ring_entries = 64;
        c.pin_threads = false;
        engine = std::make_unique<Engine>(c, std::vector<ListenerSpec>{}, nullptr, [](Shard& shard, Message& m) {
            if (m.kind == MessageKind::user && m.payload) return static_cast<RunOnShard*>(m.payload.get())->fn(shard);
            on_shard_message(shard, m);
        });
        engine->set_shard_local([this, lane_queue_capacity](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
            ShardStoreOptions options;
            options.sweep_interval_ms = 0;
            options.lane.queue_capacity = lane_queue_capacity;
            auto s = ShardStore::open(shard, *envs, *handles, options, keys);
            if (!s) return fail(s.error());
            auto context = std::make_unique<ShardContext>();
            context->store = std::move(*s);
            context->writes = std::make_unique<MailboxWrites>(*context->store, MailboxWritesOptions{0});
            DeliveryOptions delivery;
            delivery.retry = {1, 1, 3600};
            delivery.removal_batch_ms = 1;
            DeliveryLinks links;
            links.now_unix = [this] { return clock_unix.load(); };
            links.send = [this, &shard](std::uint32_t to, Message m) -> Result<void> {
                if (m.kind == message_delivered && reports_to_drop.fetch_sub(1) > 0)
                    return fail(std::make_error_code(std::errc::no_buffer_space));  // as a full inbox does
                return shard.send_message(to, std::move(m));
            };
            context->delivery = std::make_unique<LocalDelivery>(shard, *context->store, *context->writes, *directory,
                                                                delivery, std::move(links));
            context->marker_cleanup = std::make_unique<MarkerCleanup>(*context->store, MarkerCleanupOptions{3'600'000, 2});
            return std::unique_ptr<ShardLocal>(std::move(context));
        });
        VMX_ASSERT(!engine->bind().has_value());
        VMX_ASSERT(engine->start().has_value());
    }

    // Runs fn on shard `s` and waits until it returned.
    void on_shard(std::uint32_t s, std::function<void(ShardContext&)> fn) {
        std::promise<void> ran;
        auto payload = std::make_unique<RunOnShard>();
        payload->fn = [&](Shard& shard) {
            fn(ShardContext::of(shard));
            ran.set_value();
        };
        Message m;
        m.kind = MessageKind::user;
        m.payload = std::move(payload);
        VMX_ASSERT(engine->control_send(s, std::move(m)).has_value());
        VMX_ASSERT(ran.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
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
        on_shard(0, [&](ShardContext& c) {
            c.delivery->accept(std::move(envelope), std::make_shared<const std::string>(body),
                               [&outcome](AcceptOutcome o, const std::string&) { outcome.set_value(o); });
        });
        auto f = outcome.get_future();
        VMX_ASSERT(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        return f.get();
    }

    const DeliveryStats& stats(std::uint32_t s) { return ShardContext::of(engine->shard(s)).delivery->stats(); }
    const MarkerCleanupStats& markers(std::uint32_t s) { return ShardContext::of(engine->shard(s)).marker_cleanup->stats(); }

    std::size_t messages_of(std::uint64_t user) {
        const std::uint32_t segment = store::segment_of(user, kSegments);
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        const store::MailboxRef box{user, segment, crypto::Scope{crypto::ScopeKind::shared, 0}};
        auto listed = store::list_messages(*txn, handles->segment(segment).mailboxes, *keys, box);
        return listed ? listed->size() : 0;
    }

    std::size_t markers_in(std::uint32_t segment) {
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        auto page = store::list_markers(*txn, handles->segment(segment).markers, std::nullopt, 100000);
        VMX_ASSERT(page);
        return page->markers.size();
    }

    TempDir dir;
    std::unique_ptr<store::StoreLayout> layout;
    std::unique_ptr<store::StoreEnvironments> envs;
    std::unique_ptr<store::StoreHandles> handles;
    std::shared_ptr<const crypto::KeySet> keys;
    std::unique_ptr<store::Env> directory_env;
    std::unique_ptr<Directory> directory;
    std::uint64_t local_user = 0;   // mailbox on shard 0, where the queue is
    std::uint64_t remote_user = 0;  // mailbox on shard 1
    std::uint64_t tiny_user = 0;    // quota of 10 bytes: every append is refused (temporary)
    std::atomic<std::int64_t> clock_unix{kStart};
    std::atomic<int> reports_to_drop{0};
    std::string body = "Subject: test\r\n\r\nhello\r\n";
    std::unique_ptr<Engine> engine;
};

TEST(LocalDeliveryTest, DeliversOnEveryShardThenEmptiesTheQueue) {
    Fixture f;
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(0).queued.load(), 0u);
    EXPECT_EQ(f.stats(0).delivered.load() + f.stats(1).delivered.load(), 2u);
    EXPECT_EQ(f.messages_of(f.local_user), 1u);
    EXPECT_EQ(f.messages_of(f.remote_user), 1u);
}

// Before the fix the owner shard logged the dropped report and forgot it: the entry stayed queued
// (outstanding hand-offs, so no retry either) until a restart.
TEST(LocalDeliveryTest, DroppedReportIsSentAgainAndTheEntryLeaves) {
    Fixture f;
    f.reports_to_drop = 3;
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(1).reports_retried.load(), 3u);
    EXPECT_EQ(f.stats(0).queued.load(), 0u);
    EXPECT_EQ(f.messages_of(f.remote_user), 1u);  // once: the retried report carried no second append
}

// Before the fix the second accept called a moved-from std::function: bad_function_call on the
// shard thread, and the process ended.
TEST(LocalDeliveryTest, WriteTheLaneRefusesAnswersFullOnceAndTheShardLivesOn) {
    Fixture f(/*lane_queue_capacity=*/1);
    std::vector<AcceptOutcome> outcomes;
    std::promise<void> both;
    f.on_shard(0, [&](ShardContext& c) {
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
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.messages_of(f.local_user), 1u);
    // The shard still works.
    EXPECT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.messages_of(f.local_user) == 2; }));
}

// The clock decides when a temporary failure becomes permanent: a message queued for the whole
// lifetime bounces at its next failure, a fresh one is kept for its retry.
TEST(LocalDeliveryTest, TemporaryFailureIsKeptUntilTheLifetimeEnds) {
    Fixture f;
    store::Envelope old = f.envelope_to({f.tiny_user});
    old.arrival_unix = kStart - 3600;
    ASSERT_EQ(f.accept_on_shard0(old), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 1; }));
    EXPECT_EQ(f.stats(0).perm_failures.load(), 1u);

    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.tiny_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.stats(0).temp_failures.load() >= 1; }));
    EXPECT_EQ(f.stats(0).queued.load(), 1u);
    EXPECT_EQ(f.stats(0).perm_failures.load(), 1u);
    // An hour later (past the lifetime), its next retry gives up.
    f.clock_unix = kStart + 3601;
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 2; }));
    EXPECT_EQ(f.stats(0).perm_failures.load(), 2u);
}

// Markers of removed entries go; a marker whose entry still waits for another recipient stays.
TEST(MarkerCleanupTest, RemovesTheMarkersOfGoneEntriesOnly) {
    Fixture f;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.stats(0).removed.load() == 5; }));
    // This entry stays queued (the tiny mailbox refuses) while its other recipient has a marker.
    ASSERT_EQ(f.accept_on_shard0(f.envelope_to({f.local_user, f.remote_user, f.tiny_user})), AcceptOutcome::stored);
    ASSERT_TRUE(wait_until([&] { return f.messages_of(f.remote_user) == 6 && f.messages_of(f.local_user) == 6; }));
    ASSERT_EQ(f.markers_in(0) + f.markers_in(1), 12u);

    for (std::uint32_t s = 0; s < 2; ++s) f.on_shard(s, [](ShardContext& c) { c.marker_cleanup->run_pass(); });
    ASSERT_TRUE(wait_until([&] { return f.markers(0).passes.load() == 1 && f.markers(1).passes.load() == 1; }));
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
