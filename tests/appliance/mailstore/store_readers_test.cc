// StoreReaders: a read runs on a reader thread and its answer only where the asking shard drains
// (each shard its own), the queue is bounded and refusals counted, stop() drops queued reads and
// their answers, and a reader's cached key derivations do not outlive the read that made them.
#include "appliance/mailstore/store_readers.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <array>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "crypto/hkdf.h"

namespace vmx {
namespace {

// Drains `shard` until `done()` holds (up to 10 s).
template <class Done>
bool drain_until(StoreReaders& readers, std::uint32_t shard, Done done) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < end) {
        pollfd p{readers.result_fd(shard), POLLIN, 0};
        if (poll(&p, 1, 50) > 0) readers.drain(shard);
    }
    return done();
}

// A read that holds its reader thread until released.
struct Gate {
    std::promise<void> open;
    std::shared_future<void> opened = open.get_future().share();
    StoreReaders::Read read() {
        return [f = opened] {
            f.wait();
            return StoreReaders::Answer([] {});
        };
    }
};

TEST(StoreReadersTest, AReadRunsOnAReaderAndItsAnswerWhereItsShardDrains) {
    StoreReaders readers(StoreReaderOptions{2, 16}, 2);
    readers.start();
    const std::thread::id here = std::this_thread::get_id();
    std::thread::id read_on;
    std::thread::id answered_on;
    int answers = 0;
    ASSERT_TRUE(readers.submit(1, [&] {
        read_on = std::this_thread::get_id();
        return StoreReaders::Answer([&] {
            answered_on = std::this_thread::get_id();
            ++answers;
        });
    }));
    // Shard 0 has nothing: its answers are its own.
    pollfd p{readers.result_fd(0), POLLIN, 0};
    EXPECT_EQ(poll(&p, 1, 200), 0);
    readers.drain(0);
    EXPECT_EQ(answers, 0);
    ASSERT_TRUE(drain_until(readers, 1, [&] { return answers == 1; }));
    EXPECT_NE(read_on, here);
    EXPECT_EQ(answered_on, here);
    EXPECT_EQ(readers.reads(), 1u);
}

TEST(StoreReadersTest, TheQueueIsBoundedAndARefusalIsCounted) {
    StoreReaders readers(StoreReaderOptions{1, 2}, 1);
    readers.start();
    Gate gate;
    ASSERT_TRUE(readers.submit(0, gate.read()));  // the one thread waits on the gate
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (readers.queued() != 0 && std::chrono::steady_clock::now() < end) std::this_thread::yield();
    ASSERT_EQ(readers.queued(), 0u);
    int answers = 0;
    auto counted = [&answers] { return StoreReaders::Answer([&answers] { ++answers; }); };
    EXPECT_TRUE(readers.submit(0, counted));
    EXPECT_TRUE(readers.submit(0, counted));
    EXPECT_FALSE(readers.submit(0, counted));  // two wait already
    EXPECT_FALSE(readers.submit(5, counted));  // no such shard
    EXPECT_EQ(readers.refused(), 1u);
    gate.open.set_value();
    ASSERT_TRUE(drain_until(readers, 0, [&] { return answers == 2; }));
}

TEST(StoreReadersTest, StopDropsQueuedReadsAndTheirAnswers) {
    StoreReaders readers(StoreReaderOptions{1, 8}, 1);
    readers.start();
    Gate gate;
    ASSERT_TRUE(readers.submit(0, gate.read()));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (readers.queued() != 0 && std::chrono::steady_clock::now() < end) std::this_thread::yield();
    bool ran = false;
    ASSERT_TRUE(readers.submit(0, [&ran] {
        ran = true;
        return StoreReaders::Answer([] {});
    }));
    std::thread stopper([&] { readers.stop(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gate.open.set_value();  // stop() waits for the read under way, not for the queued one
    stopper.join();
    EXPECT_FALSE(ran);
    EXPECT_FALSE(readers.submit(0, [] { return StoreReaders::Answer([] {}); }));
}

// A key shredded while a reader holds its derivation must not live on there: each read starts
// with an empty cache, whatever the previous read on that thread derived.
TEST(StoreReadersTest, AReaderKeepsNoKeyDerivationBetweenReads) {
    StoreReaders readers(StoreReaderOptions{1, 8}, 1);
    readers.start();
    std::mutex m;
    std::vector<std::size_t> seen;  // the cache's entries at the start and the end of each read
    auto derive = [&] {
        std::array<std::uint8_t, 32> ikm{};
        ikm[0] = 7;
        std::array<std::uint8_t, 32> out{};
        const std::size_t before = crypto::hkdf_prk_cache_used();
        EXPECT_TRUE(crypto::hkdf_sha256_cached_into(ikm, {}, out));
        std::lock_guard lock(m);
        seen.push_back(before);
        seen.push_back(crypto::hkdf_prk_cache_used());
        return StoreReaders::Answer([] {});
    };
    ASSERT_TRUE(readers.submit(0, derive));
    ASSERT_TRUE(readers.submit(0, derive));
    ASSERT_TRUE(drain_until(readers, 0, [&] { return readers.reads() == 2; }));
    std::lock_guard lock(m);
    EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 0, 1}));
}

}  // namespace
}  // namespace vmx
