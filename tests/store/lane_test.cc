// The store lane: every request completes exactly once, durably, in order per environment; a lone
// request commits at once; under load requests share transactions; map growth and map full.
#include "store/lane.h"

#include <liburing.h>
#include <poll.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;
using testing::text;
using Clock = std::chrono::steady_clock;

struct Fixture {
    explicit Fixture(const TempDir& dir, int envs = 1, std::size_t map_bytes = 16 << 20,
                     std::size_t map_max = 16 << 20) {
        EnvOptions o;
        o.map_bytes = map_bytes;
        o.map_bytes_max = map_max;
        for (int i = 0; i < envs; ++i) {
            auto env = testing::open_test_env(dir.sub("e" + std::to_string(i)), o);
            VMX_ASSERT(env);
            auto dbi = (*env)->open_dbi("records");
            VMX_ASSERT(dbi);
            dbis.push_back(*dbi);
            owned.push_back(std::move(*env));
            raw.push_back(owned.back().get());
        }
    }
    std::vector<std::unique_ptr<Env>> owned;
    std::vector<Env*> raw;
    std::vector<Dbi> dbis;
};

WriteRequest put_request(std::uint32_t env, Dbi dbi, std::uint64_t token, std::size_t value_bytes = 100) {
    WriteRequest r;
    r.env = env;
    r.token = token;
    WriteOp op;
    op.dbi = dbi;
    op.key = bytes("k" + std::to_string(token));
    op.value.assign(value_bytes, static_cast<std::uint8_t>(token));
    r.ops.push_back(std::move(op));
    return r;
}

// Waits (poll on result_fd) until at least one outcome arrives or timeout; drains them all.
template <class Fn>
std::size_t wait_results(Lane& lane, Fn&& fn, int timeout_ms = 10000) {
    pollfd p{lane.result_fd(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return 0;
    lane.acknowledge_wake();
    return lane.drain_results(fn);
}

TEST(LaneTest, LoneRequestCommitsAtOnce) {
    TempDir dir;
    Fixture f(dir);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    // Let the lane fall asleep first, so the wake path is what is measured.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    WriteRequest r = put_request(0, f.dbis[0], 7);
    const auto start = Clock::now();
    ASSERT_TRUE(lane.submit(r));
    std::vector<WriteResult> got;
    ASSERT_EQ(wait_results(lane, [&](WriteResult&& w) { got.push_back(w); }, 5000), 1u);
    const auto waited = Clock::now() - start;
    EXPECT_EQ(got[0].token, 7u);
    EXPECT_FALSE(got[0].error) << got[0].error.message();
    EXPECT_EQ(lane.stats().transactions.load(), 1u);
    EXPECT_LT(waited, std::chrono::milliseconds(1000));  // one fsync, no batching delay
    auto read = ReadTxn::begin(*f.raw[0]);
    ASSERT_TRUE(read);
    EXPECT_TRUE(read->get(f.dbis[0], bytes("k7")));
}

TEST(LaneTest, SixtyFourRequestersEachCompleteExactlyOnceAndShareCommits) {
    TempDir dir;
    Fixture f(dir);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    constexpr std::uint64_t kRequesters = 64;
    constexpr std::uint64_t kEach = 40;
    // Like 64 connections of one shard: each keeps one write in flight and sends the next when told.
    std::map<std::uint64_t, int> completions;
    std::vector<std::uint64_t> next(kRequesters, 0);
    auto submit_next = [&](std::uint64_t requester) {
        const std::uint64_t token = requester * 1000 + next[requester]++;
        WriteRequest r = put_request(0, f.dbis[0], token);
        ASSERT_TRUE(lane.submit(r));
    };
    for (std::uint64_t i = 0; i < kRequesters; ++i) submit_next(i);
    std::size_t done = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (done < kRequesters * kEach && Clock::now() < deadline) {
        done += wait_results(lane, [&](WriteResult&& w) {
            EXPECT_FALSE(w.error) << w.error.message();
            ++completions[w.token];
            const std::uint64_t requester = w.token / 1000;
            if (next[requester] < kEach) submit_next(requester);
        });
    }
    ASSERT_EQ(done, kRequesters * kEach);
    ASSERT_EQ(completions.size(), kRequesters * kEach);
    for (const auto& [token, n] : completions) EXPECT_EQ(n, 1) << token;
    const std::uint64_t txns = lane.stats().transactions.load();
    EXPECT_EQ(lane.stats().requests.load(), kRequesters * kEach);
    EXPECT_LT(txns * 4, kRequesters * kEach) << "batches did not coalesce: " << txns << " transactions";
    EXPECT_GT(lane.stats().largest_batch.load(), 8u);
    auto read = ReadTxn::begin(*f.raw[0]);
    ASSERT_TRUE(read);
    for (const auto& [token, n] : completions) EXPECT_TRUE(read->get(f.dbis[0], bytes("k" + std::to_string(token))));
}

TEST(LaneTest, ResultsArriveInOrderPerEnvironment) {
    TempDir dir;
    Fixture f(dir, 3);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    constexpr std::uint64_t kRequests = 600;
    for (std::uint64_t t = 0; t < kRequests; ++t) {
        WriteRequest r = put_request(static_cast<std::uint32_t>(t % 3), f.dbis[t % 3], t);
        ASSERT_TRUE(lane.submit(r));
    }
    std::vector<std::uint64_t> last(3, 0);
    std::vector<bool> seen_any(3, false);
    std::size_t done = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (done < kRequests && Clock::now() < deadline) {
        done += wait_results(lane, [&](WriteResult&& w) {
            EXPECT_FALSE(w.error);
            EXPECT_EQ(w.token % 3, w.env);
            if (seen_any[w.env]) {
                EXPECT_GT(w.token, last[w.env]);
            }
            seen_any[w.env] = true;
            last[w.env] = w.token;
        });
    }
    EXPECT_EQ(done, kRequests);
}

TEST(LaneTest, RefusesInvalidRequestsAndAFullQueue) {
    TempDir dir;
    Fixture f(dir);
    LaneOptions o;
    o.queue_capacity = 2;
    Lane lane(f.raw, o);
    ASSERT_TRUE(lane.start());
    WriteRequest bad_env = put_request(1, f.dbis[0], 1);
    EXPECT_EQ(lane.submit(bad_env).error(), StoreErrc::invalid_request);
    WriteRequest empty_key = put_request(0, f.dbis[0], 1);
    empty_key.ops[0].key.clear();
    EXPECT_EQ(lane.submit(empty_key).error(), StoreErrc::invalid_request);
    WriteRequest long_key = put_request(0, f.dbis[0], 1);
    long_key.ops[0].key.assign(f.raw[0]->key_bytes_max() + 1, 1);
    EXPECT_EQ(lane.submit(long_key).error(), StoreErrc::invalid_request);
    WriteRequest a = put_request(0, f.dbis[0], 1), b = put_request(0, f.dbis[0], 2), c = put_request(0, f.dbis[0], 3);
    ASSERT_TRUE(lane.submit(a));
    ASSERT_TRUE(lane.submit(b));
    EXPECT_EQ(lane.submit(c).error(), StoreErrc::queue_full);  // two in flight until drained
    EXPECT_EQ(c.ops.size(), 1u);                               // left untouched
    std::size_t done = 0;
    while (done < 2) done += wait_results(lane, [](WriteResult&&) {});
    EXPECT_TRUE(lane.submit(c));
    while (done < 3) done += wait_results(lane, [](WriteResult&&) {});
}

TEST(LaneTest, CallbackMaySubmitTheNextWriteAtFullCapacity) {
    // A shard answers a durable write by starting the session's next one from the callback; with
    // the queue full, each drained outcome must free its place before the callback runs.
    TempDir dir;
    Fixture f(dir);
    LaneOptions o;
    o.queue_capacity = 2;
    Lane lane(f.raw, o);
    ASSERT_TRUE(lane.start());
    std::uint64_t next = 1;
    for (; next <= 2; ++next) {
        WriteRequest r = put_request(0, f.dbis[0], next);
        ASSERT_TRUE(lane.submit(r));
    }
    std::size_t done = 0;
    std::size_t refused = 0;
    while (done < 20) {
        const std::size_t got = wait_results(lane, [&](WriteResult&& w) {
            EXPECT_FALSE(w.error);
            if (next > 20) return;
            WriteRequest r = put_request(0, f.dbis[0], next);
            if (lane.submit(r)) ++next;
            else ++refused;
        });
        ASSERT_GT(got, 0u);
        done += got;
    }
    EXPECT_EQ(refused, 0u);
    EXPECT_EQ(next, 21u);
}

TEST(LaneTest, MapGrowsUntilItsMaximumThenMapFullAndStillUsable) {
    TempDir dir;
    Fixture f(dir, 1, 256 << 10, 1 << 20);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    // 48 KiB values, 8 at a time: the first batches need the map to grow, the last cannot fit.
    std::size_t ok = 0, full = 0, other = 0, done = 0;
    std::uint64_t token = 0;
    for (int round = 0; round < 6; ++round) {
        for (int i = 0; i < 8; ++i) {
            WriteRequest r = put_request(0, f.dbis[0], token++, 48 << 10);
            ASSERT_TRUE(lane.submit(r));
        }
        const std::size_t target = done + 8;
        while (done < target) {
            done += wait_results(lane, [&](WriteResult&& w) {
                if (!w.error) ++ok;
                else if (w.error == StoreErrc::map_full) ++full;
                else ++other;
            });
        }
    }
    EXPECT_EQ(other, 0u);
    EXPECT_GT(ok, 8u);
    EXPECT_GT(full, 0u);
    EXPECT_EQ(lane.stats().map_grows.load(), 2u);  // 256 KiB -> 512 KiB -> 1 MiB
    EXPECT_EQ(f.raw[0]->map_bytes(), std::size_t{1} << 20);
    // Reads see every acknowledged record; a small write still commits.
    {
        auto read = ReadTxn::begin(*f.raw[0]);
        ASSERT_TRUE(read);
        std::size_t present = 0;
        for (std::uint64_t t = 0; t < token; ++t) present += read->get(f.dbis[0], bytes("k" + std::to_string(t))) ? 1 : 0;
        EXPECT_EQ(present, ok);
    }
    WriteRequest small = put_request(0, f.dbis[0], 999999, 10);
    ASSERT_TRUE(lane.submit(small));
    std::error_code small_error = StoreErrc::busy;
    while (wait_results(lane, [&](WriteResult&& w) { small_error = w.error; }) == 0) {
    }
    EXPECT_FALSE(small_error) << small_error.message();
}

// Tasks: work inside the writer's transaction (sweeps), in a transaction of their own.
TEST(LaneTest, TaskRunsInItsOwnTransactionAndReportsItsCount) {
    TempDir dir;
    Fixture f(dir);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    const Dbi dbi = f.dbis[0];
    WriteRequest ok_task;
    ok_task.token = 1;
    ok_task.task = [dbi](WriteTxn& txn) -> Result<std::uint64_t> {
        for (int i = 0; i < 3; ++i)
            if (auto p = txn.put(dbi, bytes("t" + std::to_string(i)), bytes("v")); !p) return fail(p.error());
        return 3;
    };
    WriteRequest bad_task;
    bad_task.token = 2;
    bad_task.task = [dbi](WriteTxn& txn) -> Result<std::uint64_t> {
        (void)txn.put(dbi, bytes("never"), bytes("v"));
        return fail(StoreErrc::corrupt);
    };
    WriteRequest plain = put_request(0, dbi, 3);
    ASSERT_TRUE(lane.submit(ok_task));
    ASSERT_TRUE(lane.submit(bad_task));
    ASSERT_TRUE(lane.submit(plain));
    std::map<std::uint64_t, WriteResult> got;
    while (got.size() < 3) {
        ASSERT_GT(wait_results(lane, [&](WriteResult&& w) { got[w.token] = w; }), 0u);
    }
    EXPECT_FALSE(got[1].error);
    EXPECT_EQ(got[1].count, 3u);
    EXPECT_EQ(got[2].error, StoreErrc::corrupt);
    EXPECT_FALSE(got[3].error) << "a failing task must not fail the requests beside it";
    EXPECT_EQ(lane.stats().failed_tasks.load(), 1u);
    auto read = ReadTxn::begin(*f.raw[0]);
    ASSERT_TRUE(read);
    EXPECT_TRUE(read->get(dbi, bytes("t2")));
    EXPECT_FALSE(read->get(dbi, bytes("never"))) << "a failed task's writes are aborted";
    EXPECT_TRUE(read->get(dbi, bytes("k3")));
}

TEST(LaneTest, TaskWithOpsIsRefusedAndTaskGrowsTheMap) {
    TempDir dir;
    Fixture f(dir, 1, 256 << 10, 1 << 20);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    const Dbi dbi = f.dbis[0];
    WriteRequest mixed = put_request(0, dbi, 1);
    mixed.task = [](WriteTxn&) -> Result<std::uint64_t> { return 0; };
    EXPECT_EQ(lane.submit(mixed).error(), StoreErrc::invalid_request);
    // 600 KiB written by one task: more than the first map holds, so it grows and runs again.
    std::atomic<int> runs{0};
    WriteRequest big;
    big.token = 2;
    big.task = [dbi, &runs](WriteTxn& txn) -> Result<std::uint64_t> {
        ++runs;
        const std::vector<std::uint8_t> value(20 << 10, 7);
        for (int i = 0; i < 30; ++i)
            if (auto p = txn.put(dbi, bytes("g" + std::to_string(i)), value); !p) return fail(p.error());
        return 30;
    };
    ASSERT_TRUE(lane.submit(big));
    WriteResult out;
    while (wait_results(lane, [&](WriteResult&& w) { out = w; }) == 0) {
    }
    EXPECT_FALSE(out.error) << out.error.message();
    EXPECT_EQ(out.count, 30u);
    EXPECT_GE(runs.load(), 2);
    EXPECT_GE(lane.stats().map_grows.load(), 1u);
}

// How a shard integrates the lane: an io_uring read kept armed on result_fd(); its completion means
// outcomes wait. The read consumes the eventfd's count, so no acknowledge_wake() is needed.
TEST(LaneTest, ResultFdWakesAnIoUringRead) {
    TempDir dir;
    Fixture f(dir);
    Lane lane(f.raw, LaneOptions{});
    ASSERT_TRUE(lane.start());
    io_uring ring{};
    ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
    std::uint64_t count = 0;
    auto arm = [&] {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, lane.result_fd(), &count, sizeof count, 0);
        io_uring_sqe_set_data64(sqe, 42);
        ASSERT_EQ(io_uring_submit(&ring), 1);
    };
    arm();
    for (std::uint64_t round = 0; round < 3; ++round) {
        io_uring_cqe* cqe = nullptr;
        EXPECT_EQ(io_uring_peek_cqe(&ring, &cqe), -EAGAIN);  // nothing committed, nothing to read
        WriteRequest r = put_request(0, f.dbis[0], round);
        ASSERT_TRUE(lane.submit(r));
        __kernel_timespec timeout{5, 0};
        ASSERT_EQ(io_uring_wait_cqe_timeout(&ring, &cqe, &timeout), 0);
        EXPECT_EQ(cqe->user_data, 42u);
        EXPECT_EQ(cqe->res, static_cast<int>(sizeof count));
        io_uring_cqe_seen(&ring, cqe);
        std::vector<std::uint64_t> tokens;
        lane.drain_results([&](WriteResult&& w) {
            EXPECT_FALSE(w.error);
            tokens.push_back(w.token);
        });
        EXPECT_EQ(tokens, std::vector<std::uint64_t>{round});
        arm();
    }
    io_uring_queue_exit(&ring);
}

TEST(LaneTest, DestructorFinishesQueuedRequests) {
    TempDir dir;
    Fixture f(dir);
    {
        Lane lane(f.raw, LaneOptions{});
        ASSERT_TRUE(lane.start());
        for (std::uint64_t t = 0; t < 50; ++t) {
            WriteRequest r = put_request(0, f.dbis[0], t);
            ASSERT_TRUE(lane.submit(r));
        }
    }
    auto read = ReadTxn::begin(*f.raw[0]);
    ASSERT_TRUE(read);
    for (std::uint64_t t = 0; t < 50; ++t) EXPECT_TRUE(read->get(f.dbis[0], bytes("k" + std::to_string(t)))) << t;
}

}  // namespace
}  // namespace vmx::store
