// SecretBytes and random_bytes: ownership, wiping, locked and non-dumpable memory, and that a secret
// cannot be printed or converted to text.
#include "crypto/secret_bytes.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "crypto/errc.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

template <class T>
concept Streamable = requires(std::ostream& os, const T& t) { os << t; };

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::string>);
static_assert(!std::is_convertible_v<SecretBytes, std::string_view>);
static_assert(!std::is_constructible_v<std::string, SecretBytes>);
static_assert(!Streamable<SecretBytes>);

bool all_zero(std::span<const std::uint8_t> s) {
    return std::all_of(s.begin(), s.end(), [](std::uint8_t b) { return b == 0; });
}

// The VmFlags line of the /proc/self/smaps entry that contains `address`.
std::string vm_flags_of(const void* address) {
    const auto target = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t start = 0, end = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> start >> dash >> end && dash == '-') {
            inside = start <= target && target < end;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return {};
}

TEST(RandomBytes, FillsBuffersOfAnySize) {
    std::vector<std::uint8_t> big(1 << 20);  // over getrandom's 256-byte atomic size: short reads loop
    ASSERT_TRUE(random_bytes(big).has_value());
    // 1 MiB of uniform bytes: every value appears (the chance that one does not is about 2^-5900).
    std::vector<int> seen(256);
    for (auto b : big) seen[b]++;
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c > 0; }));
    EXPECT_TRUE(random_bytes({}).has_value());
}

// Small requests come from a per-thread pool (random.cc): bytes are never handed out twice, not
// after many draws on one thread, not across threads, and not in a forked child, whose copy of the
// pool is wiped (MADV_WIPEONFORK) so that it must refill from the kernel.
TEST(RandomBytes, SmallDrawsNeverRepeatAcrossRefillsThreadsAndFork) {
    using Draw = std::array<std::uint8_t, 44>;
    std::vector<Draw> draws(500);  // several refills of the pool
    for (auto& d : draws) ASSERT_TRUE(random_bytes(d).has_value());
    Draw other{};
    std::thread([&] { ASSERT_TRUE(random_bytes(other).has_value()); }).join();
    draws.push_back(other);

    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    Draw parent_next{};
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        Draw mine{};
        const bool ok = random_bytes(mine).has_value();
        const bool written = ::write(fds[1], mine.data(), mine.size()) == static_cast<ssize_t>(mine.size());
        ::_exit(ok && written ? 0 : 1);
    }
    ASSERT_TRUE(random_bytes(parent_next).has_value());
    Draw from_child{};
    ASSERT_EQ(::read(fds[0], from_child.data(), from_child.size()), static_cast<ssize_t>(from_child.size()));
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ::close(fds[0]);
    ::close(fds[1]);
    draws.push_back(parent_next);
    draws.push_back(from_child);

    std::sort(draws.begin(), draws.end());
    EXPECT_EQ(std::adjacent_find(draws.begin(), draws.end()), draws.end());
}

TEST(SecretBytes, RandomIsFreshEachTime) {
    auto a = SecretBytes::random(32);
    auto b = SecretBytes::random(32);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->size(), 32u);
    EXPECT_FALSE(all_zero(a->view()));
    EXPECT_FALSE(a->constant_time_equal(b->view()));
}

TEST(SecretBytes, CopyOfAndConstantTimeEqual) {
    const std::vector<std::uint8_t> key = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const SecretBytes s = SecretBytes::copy_of(key);
    ASSERT_EQ(s.size(), key.size());
    EXPECT_TRUE(std::equal(key.begin(), key.end(), s.view().begin()));
    EXPECT_TRUE(s.constant_time_equal(key));
    std::vector<std::uint8_t> other = key;
    other.back() ^= 0x80;
    EXPECT_FALSE(s.constant_time_equal(other));
    EXPECT_FALSE(s.constant_time_equal(std::span(key).first(8)));  // a prefix is not equal
    EXPECT_TRUE(constant_time_equal({}, {}));
}

TEST(SecretBytes, MoveTransfersOwnership) {
    SecretBytes a = SecretBytes::copy_of(std::vector<std::uint8_t>(40, 0x5A));
    const std::uint8_t* where = a.view().data();
    SecretBytes b = std::move(a);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_EQ(a.view().data(), nullptr);
    EXPECT_EQ(b.view().data(), where);
    SecretBytes c = SecretBytes::copy_of(std::vector<std::uint8_t>(8, 1));
    c = std::move(b);
    EXPECT_EQ(c.size(), 40u);
    EXPECT_EQ(c.view()[39], 0x5A);
}

TEST(SecretBytes, SizesFromEmptyToLarge) {
    for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 1000u, 2048u, 2049u, 100000u}) {
        SecretBytes s = SecretBytes::zeroed(n);
        ASSERT_EQ(s.size(), n);
        EXPECT_TRUE(all_zero(s.view()));
        for (auto& b : s.mutable_view()) b = 0xC3;
        EXPECT_EQ(s.empty(), n == 0);
        if (n > 2048) {
            EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.view().data()) % 4096, 0u) << n;  // own mapping
        } else if (n > 0) {
            EXPECT_EQ(reinterpret_cast<std::uintptr_t>(s.view().data()) % 32, 0u) << n;
        }
    }
}

TEST(SecretBytes, IsWipedWhenReleased) {
    // Arena slots stay mapped after release, so the old bytes can be inspected.
    const volatile std::uint8_t* where = nullptr;
    {
        SecretBytes s = SecretBytes::copy_of(std::vector<std::uint8_t>(64, 0xEE));
        where = s.view().data();
    }
    for (std::size_t i = 8; i < 64; ++i) EXPECT_EQ(where[i], 0) << i;  // the first 8 hold the free list
    // Reused slots come back all zero.
    std::vector<SecretBytes> many;
    for (int i = 0; i < 100; ++i) many.push_back(SecretBytes::zeroed(64));
    for (const auto& s : many) EXPECT_TRUE(all_zero(s.view()));
}

TEST(SecretBytes, ConcurrentAllocationAndRelease) {
    std::vector<std::thread> threads;
    std::atomic<int> bad{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            std::vector<SecretBytes> held;
            for (int i = 0; i < 2000; ++i) {
                const std::size_t n = 1 + static_cast<std::size_t>((i * 37 + t * 11) % 3000);
                SecretBytes s = SecretBytes::zeroed(n);
                if (!all_zero(s.view())) bad.fetch_add(1);
                std::fill(s.mutable_view().begin(), s.mutable_view().end(), static_cast<std::uint8_t>(t + 1));
                held.push_back(std::move(s));
                if (held.size() > 50) held.erase(held.begin(), held.begin() + 25);
            }
            for (const auto& s : held)
                if (!std::all_of(s.view().begin(), s.view().end(), [&](std::uint8_t b) { return b == t + 1; })) bad.fetch_add(1);
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
}

TEST(SecretBytes, MemoryIsLockedAndExcludedFromCoreDumps) {
    const SecretBytes small = SecretBytes::zeroed(32);
    const SecretBytes large = SecretBytes::zeroed(10000);
    const SecretMemoryStats stats = secret_memory_stats();
    EXPECT_EQ(stats.dontdump_failures, 0u);
    EXPECT_GT(stats.mapped_bytes, 0u);
    for (const SecretBytes* s : {&small, &large}) {
        const std::string flags = vm_flags_of(s->view().data());
        ASSERT_FALSE(flags.empty());
        EXPECT_NE(flags.find(" dd"), std::string::npos) << flags;  // MADV_DONTDUMP
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer turns mlock() into a successful no-op
        if (stats.lock_failures == 0) {
            EXPECT_NE(flags.find(" lo"), std::string::npos) << flags;  // mlock
        }
#endif
    }
}

}  // namespace
}  // namespace vmx::crypto
