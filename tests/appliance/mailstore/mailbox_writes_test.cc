// Mailbox changes on a real shard: appends through the store lane (with a delivery marker), trash,
// restore, and the trash purge after retention; one change in flight per mailbox, changes queued
// behind it in order.
#include "appliance/mailstore/mailbox_writes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <future>

#include "appliance/directory/directory.h"
#include "appliance/daemon/shard_wiring.h"
#include "appliance/jobs/trash_purge.h"
#include "core/engine.h"
#include "store/layout.h"
#include "tests/appliance/support/appliance_fixture.h"
#include "tests/support/test_net.h"

namespace vmx {
namespace {


std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

struct Instance : testing::TestTenant {
    // off_shard: writers are loaded by store readers, as on a store shared by nodes.
    explicit Instance(bool off_shard = false) {
        user.id = add_user("ann@example.test");
        if (!off_shard) return;
        readers = std::make_unique<StoreReaders>(StoreReaderOptions{2, 64}, 2);
        readers->start();
    }

    // Runs fn on the shard that owns the user's mailbox and waits for it to call done.
    template <class Fn>
    void on_owner(Fn fn) {
        EngineConfig c;
        c.shards = 2;
        c.recv_buffers = 16;
        c.ring_entries = 64;
        c.pin_threads = false;
        const std::uint32_t segment = store::segment_of(user.id, 2);
        std::promise<void> finished;
        Engine engine(c, {}, nullptr, [&](Shard& shard, Message&) { fn(ShardContext::of(shard), finished); });
        engine.set_shard_local([&](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
            ShardStoreOptions options;
            options.sweep_interval_ms = 0;
            auto s = ShardStore::open(shard, *envs, *handles, options, keys);
            if (!s) return fail(s.error());
            auto context = std::make_unique<ShardContext>();
            context->store = std::move(*s);
            if (readers) context->reads = std::make_unique<ShardReads>(shard, *readers);
            context->writes = std::make_unique<MailboxWrites>(*context->store, writes_options, context->reads.get());
            context->trash_purge = std::make_unique<TrashPurge>(*context->store, *context->writes, *directory,
                                                                TrashPurgeOptions{14 * 86400, 0, 1000, {}});
            return std::unique_ptr<ShardLocal>(std::move(context));
        });
        ASSERT_FALSE(engine.bind().has_value());
        ASSERT_TRUE(engine.start().has_value());
        Message m;
        m.kind = MessageKind::user;
        ASSERT_TRUE(engine.control_send(store::owner_shard(segment, 2), std::move(m)).has_value());
        ASSERT_EQ(finished.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
        engine.request_stop();
        engine.join();
    }

    std::vector<store::MessageInfo> list(store::ListTrash trash) {
        const std::uint32_t segment = store::segment_of(user.id, 2);
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        auto l = store::list_messages(*txn, handles->segment(segment).mailboxes, *keys, box(), trash);
        VMX_ASSERT(l);
        return *l;
    }
    store::MailboxRef box() const {
        return {user.id, store::segment_of(user.id, 2), crypto::account_scope(user.id)};
    }

    MailboxWritesOptions writes_options;
    User user;
    std::unique_ptr<StoreReaders> readers;
};

void appends_then_trash_restore_and_purge(bool off_shard) {
    Instance in(off_shard);
    const store::MailboxRef box = in.box();
    // Three appends queued at once on one mailbox: one in flight at a time, all land in order.
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        auto left = std::make_shared<int>(3);
        for (int i = 0; i < 3; ++i) {
            auto body = std::make_shared<const std::string>("Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n");
            store::AppendOptions o;
            o.now_unix = now();
            c.writes->append(box, body, o, std::nullopt, [&, left](Result<std::uint64_t> r) {
                EXPECT_TRUE(r);
                if (--*left == 0) finished.set_value();
            });
        }
    });
    auto live = in.list(store::ListTrash::exclude);
    ASSERT_EQ(live.size(), 3u);
    EXPECT_EQ(live[0].id, 1u);
    EXPECT_EQ(live[2].id, 3u);
    // Message 1 deleted 20 days ago, message 2 just now; 3 restored after a trash.
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        c.writes->move_to_trash(box, 1, now() - 20 * 86400, [](Result<std::uint64_t> r) { EXPECT_TRUE(r); });
        c.writes->move_to_trash(box, 2, now(), [](Result<std::uint64_t> r) { EXPECT_TRUE(r); });
        c.writes->move_to_trash(box, 3, now(), [](Result<std::uint64_t> r) { EXPECT_TRUE(r); });
        c.writes->restore(box, 3, [&](Result<std::uint64_t> r) {
            EXPECT_TRUE(r);
            finished.set_value();
        });
    });
    EXPECT_EQ(in.list(store::ListTrash::exclude).size(), 1u);
    EXPECT_EQ(in.list(store::ListTrash::include).size(), 3u);
    // Restoring a live message is refused, and nothing changes.
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        c.writes->restore(box, 3, [&](Result<std::uint64_t> r) {
            EXPECT_FALSE(r);
            finished.set_value();
        });
    });
    // The purge removes only what is past the 14-day retention.
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        c.trash_purge->run_pass();  // its first step queues the purge before the restore below
        EXPECT_EQ(c.trash_purge->stats().purges_started, 1u);
        c.writes->restore(box, 3, [&](Result<std::uint64_t>) { finished.set_value(); });  // queued behind the purge
    });
    const auto all = in.list(store::ListTrash::include);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].id, 2u);
    EXPECT_EQ(all[0].state, store::MessageState::trash);
    EXPECT_EQ(all[1].id, 3u);
    if (off_shard) {
        EXPECT_GE(in.readers->reads(), 4u);  // each on_owner starts with no writer loaded
    }
}

TEST(MailboxWritesTest, AppendsInOrderThenTrashRestoreAndPurgeAfterRetention) { appends_then_trash_restore_and_purge(false); }

// The same changes with every writer loaded by a store reader, the mailbox waiting meanwhile.
TEST(MailboxWritesTest, WritersLoadedOffTheShardChangeTheSame) { appends_then_trash_restore_and_purge(true); }

// Many appends queued on one mailbox go to the lane in groups: every one lands, in order, with its
// marker, in far fewer commits than messages; a trash queued among them waits its turn; an append
// over quota fails alone and the ones after it still land.
TEST(MailboxWritesTest, QueuedAppendsShareCommitsAndKeepTheirOrder) {
    Instance in;
    const store::MailboxRef box = in.box();
    constexpr int appends = 150;
    std::vector<std::uint64_t> ids;
    std::uint64_t commits = 0;
    int over_quota = 0;
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        const std::uint64_t commits0 = c.store->lane_stats().transactions.load();
        auto left = std::make_shared<int>(appends + 1);
        // Runs after this function returned: captures nothing of its frame by reference.
        auto one_done = [context = &c, done = &finished, result = &commits, left, commits0] {
            if (--*left > 0) return;
            *result = context->store->lane_stats().transactions.load() - commits0;
            done->set_value();
        };
        for (int i = 0; i < appends; ++i) {
            store::AppendOptions o;
            o.now_unix = now();
            o.quota_bytes = 1 << 20;
            // Message 100 is too large for what is left of the quota; 101 onwards still fit.
            const std::size_t size = i == 99 ? 1040000 : 200;
            auto body = std::make_shared<const std::string>(size, 'a' + i % 26);
            const store::DeliveryMarker marker{store::QueueKind::smtp_in, 0, 7000 + static_cast<std::uint64_t>(i), 0};
            c.writes->append(box, body, o, marker, [&, i, one_done](Result<std::uint64_t> r) {
                if (i == 99) {
                    ASSERT_FALSE(r);
                    EXPECT_EQ(r.error(), store::StoreErrc::over_quota);
                    ++over_quota;
                } else {
                    EXPECT_TRUE(r);
                    if (r) ids.push_back(*r);
                }
                one_done();
            });
            EXPECT_TRUE(c.writes->marker_in_flight(marker));
            if (i == 120) {
                c.writes->move_to_trash(box, 1, now(), [one_done](Result<std::uint64_t> r) {
                    EXPECT_TRUE(r);
                    one_done();
                });
            }
        }
    });
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(appends - 1));
    for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], i + 1);  // in order, no gap for the refused one
    EXPECT_EQ(over_quota, 1);
    EXPECT_LT(commits, 20u) << "appends were not grouped";
    EXPECT_EQ(in.list(store::ListTrash::exclude).size(), static_cast<std::size_t>(appends - 2));
    EXPECT_EQ(in.list(store::ListTrash::include).size(), static_cast<std::size_t>(appends - 1));
}

// Delivery's appends to many mailboxes of one segment, arriving over several shard turns (as
// hand-offs do), wait for the batch window and go to the lane together: nothing is committed
// before the window ends (without it, each turn's appends would be committed at once), and the 30
// then take a few lane turns at most (the lane may start a turn while the shard still submits).
TEST(MailboxWritesTest, AppendsToManyMailboxesShareTheBatchWindowsCommit) {
    Instance in;
    in.writes_options.append_batch_ms = 500;  // far longer than the 20 ms the appends arrive over
    const store::MailboxRef ann = in.box();
    std::vector<store::MailboxRef> boxes;
    for (std::uint64_t id = 5000; boxes.size() < 30; ++id)
        if (store::segment_of(id, 2) == ann.segment) boxes.push_back({id, ann.segment, ann.scope});
    std::uint64_t commits = 0;
    std::uint64_t commits_inside_window = 1;
    int stored = 0;
    in.on_owner([&](ShardContext& c, std::promise<void>& finished) {
        const std::uint64_t commits0 = c.store->lane_stats().transactions.load();
        // 100 ms in: every append has arrived (the last at 18 ms), the 500 ms window is still open.
        c.store->shard().schedule(100, [context = &c, result = &commits_inside_window, commits0](Shard&) {
            *result = context->store->lane_stats().transactions.load() - commits0;
        });
        auto left = std::make_shared<std::size_t>(boxes.size());
        auto one_done = [context = &c, done = &finished, result = &commits, count = &stored, left,
                         commits0](Result<std::uint64_t> r) {
            if (r) ++*count;
            if (--*left > 0) return;
            *result = context->store->lane_stats().transactions.load() - commits0;
            done->set_value();
        };
        for (std::size_t turn = 0; turn < 10; ++turn) {
            c.store->shard().schedule(turn * 2, [context = &c, &boxes, turn, one_done](Shard&) {
                for (std::size_t i = turn * 3; i < turn * 3 + 3; ++i) {
                    store::AppendOptions o;
                    o.now_unix = now();
                    auto body = std::make_shared<const std::string>("Subject: one\r\n\r\nbody\r\n");
                    context->writes->append(boxes[i], body, o, std::nullopt, one_done);
                }
            });
        }
    });
    EXPECT_EQ(stored, 30);
    EXPECT_EQ(commits_inside_window, 0u) << "appends went to the lane before the batch window ended";
    EXPECT_LE(commits, 4u) << "the batch window did not gather the appends";
}

}  // namespace
}  // namespace vmx
