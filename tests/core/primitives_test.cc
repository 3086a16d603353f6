// Small core pieces: Result, socket addresses, the SPSC queue, the mesh, the timer heap, the ring.
#include <gtest/gtest.h>

#include <thread>

#include "core/errc.h"
#include "core/mesh.h"
#include "core/result.h"
#include "core/ring.h"
#include "core/socket_address.h"
#include "core/spsc_queue.h"
#include "core/timer_heap.h"

namespace vmx {
namespace {

Result<int> half(int v) {
    if (v % 2) return fail(CoreErrc::bad_address);
    return v / 2;
}

TEST(Result, CarriesValueOrError) {
    auto ok = half(8);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 4);
    auto bad = half(3);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), CoreErrc::bad_address);
    EXPECT_EQ(bad.error().category().name(), std::string("vmx.core"));
    Result<void> v = fail_errno(ENOSPC);
    EXPECT_EQ(v.error(), std::errc::no_space_on_device);
}

TEST(SocketAddress, ParsesV4AndV6) {
    auto a = parse_socket_address("127.0.0.1:2525");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->family(), AF_INET);
    EXPECT_EQ(a->port(), 2525);
    EXPECT_EQ(a->to_string(), "127.0.0.1:2525");
    auto b = parse_socket_address("[::1]:995");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->family(), AF_INET6);
    EXPECT_EQ(b->to_string(), "[::1]:995");
}

TEST(SocketAddress, RejectsMalformed) {
    for (const char* text : {"", "127.0.0.1", "127.0.0.1:", ":25", "127.0.0.1:65536", "127.0.0.1:25x",
                             "localhost:25", "::1:25", "[::1]25", "[::1]:", "1.2.3.4:-1", "[zz]:25",
                             "127.0.0.1: 25", "999.1.1.1:25"}) {
        EXPECT_FALSE(parse_socket_address(text)) << text;
    }
}

TEST(SpscQueue, KeepsOrderAcrossThreads) {
    SpscQueue<std::uint64_t> q(1024);
    constexpr std::uint64_t count = 1'000'000;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < count; ++i) {
            std::uint64_t v = i;
            while (!q.push(v)) std::this_thread::yield();
        }
    });
    std::uint64_t expected = 0;
    while (expected < count) {
        if (auto v = q.pop()) {
            ASSERT_EQ(*v, expected);
            ++expected;
        }
    }
    producer.join();
    EXPECT_FALSE(q.pop());
}

TEST(SpscQueue, RefusesWhenFull) {
    SpscQueue<int> q(4);
    for (int i = 0; i < 4; ++i) {
        int v = i;
        EXPECT_TRUE(q.push(v));
    }
    int extra = 9;
    EXPECT_FALSE(q.push(extra));
    EXPECT_EQ(extra, 9);  // untouched on failure
    EXPECT_EQ(*q.pop(), 0);
    EXPECT_TRUE(q.push(extra));
}

TEST(Mesh, DeliversFromEverySenderAndWakesOnce) {
    Mesh mesh(2, 64);
    ASSERT_EQ(mesh.endpoints(), 3u);
    Message a;
    a.a = 1;
    ASSERT_TRUE(mesh.send(0, 1, std::move(a)));
    Message b;
    b.a = 2;
    ASSERT_TRUE(mesh.send(2, 1, std::move(b)));
    std::uint64_t wakes = 0;
    ASSERT_EQ(read(mesh.wake_fd(1), &wakes, sizeof wakes), static_cast<ssize_t>(sizeof wakes));
    EXPECT_EQ(wakes, 1u);  // two messages, one wake-up
    std::vector<std::pair<std::uint32_t, std::uint64_t>> got;
    EXPECT_EQ(mesh.drain(1, [&](Message m) { got.emplace_back(m.from, m.a); }), 2u);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], std::make_pair(0u, std::uint64_t{1}));
    EXPECT_EQ(got[1], std::make_pair(2u, std::uint64_t{2}));
}

TEST(Mesh, ReportsFullQueue) {
    Mesh mesh(1, 2);
    EXPECT_TRUE(mesh.send(1, 0, Message{}));
    EXPECT_TRUE(mesh.send(1, 0, Message{}));
    auto r = mesh.send(1, 0, Message{});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), CoreErrc::queue_full);
}

TEST(TimerHeap, ExpiresInDeadlineOrder) {
    TimerHeap heap;
    heap.push(30, 3);
    heap.push(10, 1);
    heap.push(20, 2);
    heap.push(100, 4);
    EXPECT_EQ(heap.next_deadline_ms(), 10u);
    std::vector<std::uint64_t> fired;
    heap.expire(30, [&](std::uint64_t t) { fired.push_back(t); });
    EXPECT_EQ(fired, (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(heap.next_deadline_ms(), 100u);
}

TEST(Ring, SetsUpAndRunsANop) {
    Ring ring;
    ASSERT_TRUE(ring.init(64));
    // This kernel must give us at least the plain ring; the log line names what it accepted.
    EXPECT_FALSE(ring.describe().empty());
    io_uring_sqe* sqe = ring.get_sqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, 77);
    ASSERT_GE(ring.submit_and_wait(1000), 0);
    std::uint64_t seen = 0;
    EXPECT_EQ(ring.for_each_completion([&](const io_uring_cqe& c) { seen = c.user_data; }), 1u);
    EXPECT_EQ(seen, 77u);
}

TEST(Ring, GetSqeNeverFailsWhenFull) {
    Ring ring;
    ASSERT_TRUE(ring.init(8));
    for (int i = 0; i < 40; ++i) {
        io_uring_sqe* sqe = ring.get_sqe();
        ASSERT_NE(sqe, nullptr);
        io_uring_prep_nop(sqe);
        // Reap as we go so the completion queue never overflows.
        ring.for_each_completion([](const io_uring_cqe&) {});
    }
    ring.submit();
}

}  // namespace
}  // namespace vmx
