// Fault tests of the store lane, in their own binary because they fork and change process limits.
// Crash test: a child process appends records through the store lane and reports every durable
// acknowledgement on a pipe; the parent SIGKILLs it at random points, then reopens the environment,
// which must open cleanly and hold every acknowledged record intact. Its own binary: it forks.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "store/lane.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::TempDir;
using Clock = std::chrono::steady_clock;

std::uint64_t mix(std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t fnv1a(const std::uint8_t* p, std::size_t n) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

std::vector<std::uint8_t> key_of(std::uint64_t id) {
    std::vector<std::uint8_t> k(8);
    for (int i = 0; i < 8; ++i) k[i] = static_cast<std::uint8_t>(id >> (56 - 8 * i));  // big-endian: sorted
    return k;
}

// id (8) | payload (100..8000 bytes, from the id) | FNV-1a of everything before (8).
std::vector<std::uint8_t> value_of(std::uint64_t id) {
    const std::size_t payload = 100 + mix(id) % 7900;
    std::vector<std::uint8_t> v(8 + payload + 8);
    std::memcpy(v.data(), &id, 8);
    std::uint64_t x = mix(id) | 1;  // xorshift64: cheap bytes that differ per id
    for (std::size_t i = 0; i < payload; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[8 + i] = static_cast<std::uint8_t>(x);
    }
    const std::uint64_t sum = fnv1a(v.data(), 8 + payload);
    std::memcpy(v.data() + 8 + payload, &sum, 8);
    return v;
}

// The record's own checksum and id hold (a torn or stale page would break them).
bool self_consistent(std::uint64_t id, Bytes value) {
    if (value.size() < 16) return false;
    std::uint64_t stored_id = 0, sum = 0;
    std::memcpy(&stored_id, value.data(), 8);
    std::memcpy(&sum, value.data() + value.size() - 8, 8);
    return stored_id == id && sum == fnv1a(value.data(), value.size() - 8);
}

bool intact(std::uint64_t id, Bytes value) {
    const std::vector<std::uint8_t> want = value_of(id);
    return value.size() == want.size() && std::memcmp(value.data(), want.data(), want.size()) == 0;
}

EnvOptions env_options() {
    EnvOptions o;
    o.map_bytes = std::size_t{4} << 20;  // small, so growth happens during the run as well
    o.map_bytes_max = std::size_t{1} << 30;
    return o;
}

// The child: appends forever, 32 in flight, and writes each acknowledged id to `ack_fd`.
[[noreturn]] void child_main(const std::string& path, std::uint64_t first_id, int ack_fd) {
    auto env = Env::open(path, env_options());
    if (!env) ::_exit(10);
    auto dbi = (*env)->open_dbi("records");
    if (!dbi) ::_exit(11);
    Lane lane({env->get()}, LaneOptions{});
    if (!lane.start()) ::_exit(12);
    std::uint64_t next = first_id;
    auto submit = [&] {
        WriteRequest r;
        r.token = next;
        r.ops.push_back(WriteOp{WriteOpKind::put, *dbi, key_of(next), value_of(next)});
        ++next;
        if (!lane.submit(r)) ::_exit(13);
    };
    for (int i = 0; i < 32; ++i) submit();
    for (;;) {
        pollfd p{lane.result_fd(), POLLIN, 0};
        ::poll(&p, 1, -1);
        lane.acknowledge_wake();
        lane.drain_results([&](WriteResult&& w) {
            if (w.error) ::_exit(14);
            if (::write(ack_fd, &w.token, sizeof w.token) != sizeof w.token) ::_exit(15);
            submit();
        });
    }
}

// Reads acknowledgements until the deadline (then kills the child) or EOF.
// The kill comes `delay` after the child's first acknowledgement (so every round kills a child
// in the middle of acknowledged work, however slowly a loaded machine starts it), or after 10 s
// if none ever comes.
void collect_acks(int fd, std::set<std::uint64_t>& acked, std::chrono::milliseconds delay, pid_t child, bool& killed) {
    std::uint64_t buffer[512];
    std::size_t partial = 0;  // bytes of an id split across reads (never with 8-byte pipe writes)
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool first_seen = false;
    for (;;) {
        if (!first_seen && !acked.empty()) {
            first_seen = true;
            deadline = Clock::now() + delay;
        }
        const auto now = Clock::now();
        if (!killed && now >= deadline) {
            ::kill(child, SIGKILL);
            killed = true;
        }
        const int wait_ms =
            killed ? -1 : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, wait_ms) == 0) continue;
        const ssize_t got = ::read(fd, reinterpret_cast<char*>(buffer) + partial, sizeof buffer - partial);
        if (got <= 0) return;  // EOF: the child is gone
        const std::size_t bytes = partial + static_cast<std::size_t>(got);
        for (std::size_t i = 0; i < bytes / 8; ++i) acked.insert(buffer[i]);
        partial = bytes % 8;
        if (partial) std::memmove(buffer, reinterpret_cast<char*>(buffer) + bytes - partial, partial);
    }
}

TEST(CrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
    TempDir dir;
    const std::string path = dir.sub("env");
    std::mt19937_64 random(std::random_device{}());
    std::set<std::uint64_t> acked;
    constexpr int kRounds = 24;
    const auto budget_end = Clock::now() + std::chrono::seconds(30);
    int rounds = 0;
    for (; rounds < kRounds && Clock::now() < budget_end; ++rounds) {
        int fds[2];
        ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
        const std::uint64_t first_id = static_cast<std::uint64_t>(rounds + 1) << 32;
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            child_main(path, first_id, fds[1]);
        }
        ::close(fds[1]);
        const auto kill_after = std::chrono::milliseconds(random() % 300);
        bool killed = false;
        const std::size_t before = acked.size();
        std::set<std::uint64_t> fresh;
        collect_acks(fds[0], fresh, kill_after, child, killed);
        acked.insert(fresh.begin(), fresh.end());
        ::close(fds[0]);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "child ended on its own, status " << status << " in round " << rounds;

        // Reopen: clean open, every acknowledged record present and intact, every record intact.
        auto env = Env::open(path, env_options());
        ASSERT_TRUE(env) << "round " << rounds << ": " << env.error().message();
        auto dbi = (*env)->open_dbi("records");
        ASSERT_TRUE(dbi);
        auto read = ReadTxn::begin(**env);
        ASSERT_TRUE(read);
        // This round's acknowledgements byte for byte; earlier ones by their own checksum.
        for (const std::uint64_t id : fresh) {
            auto v = read->get(*dbi, key_of(id));
            ASSERT_TRUE(v) << "round " << rounds << ": acknowledged record " << id << " lost";
            ASSERT_TRUE(intact(id, *v)) << "round " << rounds << ": record " << id << " damaged";
        }
        for (const std::uint64_t id : acked) {
            auto v = read->get(*dbi, key_of(id));
            ASSERT_TRUE(v) << "round " << rounds << ": acknowledged record " << id << " lost";
            ASSERT_TRUE(self_consistent(id, *v)) << "round " << rounds << ": record " << id << " damaged";
        }
        // Every record, acknowledged or not (committed but killed before the ack), is whole.
        auto cursor = Cursor::open(*read, *dbi);
        ASSERT_TRUE(cursor);
        std::size_t records = 0;
        for (auto e = cursor->first(); e && *e; e = cursor->next()) {
            std::uint64_t id = 0;
            for (std::uint8_t b : (*e)->key) id = id << 8 | b;
            ASSERT_TRUE(self_consistent(id, (*e)->value)) << "unacknowledged record " << id << " damaged";
            ++records;
        }
        EXPECT_GE(records, acked.size());
        EXPECT_GT(acked.size(), before) << "round " << rounds << " acknowledged nothing";
    }
    EXPECT_GE(rounds, 20);
    std::printf("crash test: %d SIGKILLs, %zu acknowledged records all intact\n", rounds, acked.size());
}

// Runs until `count` outcomes arrived, handing each to fn.
template <class Fn>
void wait_for(Lane& lane, std::size_t count, Fn&& fn) {
    std::size_t done = 0;
    while (done < count) {
        pollfd p{lane.result_fd(), POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) break;
        lane.acknowledge_wake();
        done += lane.drain_results(fn);
    }
    ASSERT_EQ(done, count);
}

WriteRequest put_of(Dbi dbi, std::uint64_t id, std::size_t value_bytes) {
    WriteRequest r;
    r.token = id;
    r.ops.push_back(WriteOp{WriteOpKind::put, dbi, key_of(id), std::vector<std::uint8_t>(value_bytes, 0x5a)});
    return r;
}

// A commit that cannot extend the file (the file size limit stands in for a full disk: both fail the
// write) fails every request of its batch with disk_full; the lane reopens the environment and the
// next write, once there is room, commits; nothing acknowledged is lost and nothing failed appears.
TEST(FaultTest, DiskFullFailsTheBatchThenTheLaneReopensAndRecovers) {
    TempDir dir;
    const std::string path = dir.sub("env");
    auto env = Env::open(path, env_options());
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    Lane lane({env->get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    for (std::uint64_t id = 1; id <= 10; ++id) {
        WriteRequest r = put_of(*dbi, id, 1000);
        ASSERT_TRUE(lane.submit(r));
    }
    wait_for(lane, 10, [](WriteResult&& w) { EXPECT_FALSE(w.error); });

    struct stat st {};
    ASSERT_EQ(::stat((path + "/data.mdb").c_str(), &st), 0);
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    rlimit tight = saved;
    tight.rlim_cur = static_cast<rlim_t>(st.st_size);
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
    for (std::uint64_t id = 100; id < 105; ++id) {
        WriteRequest r = put_of(*dbi, id, 1 << 20);
        ASSERT_TRUE(lane.submit(r));
    }
    std::vector<std::error_code> errors;
    wait_for(lane, 5, [&](WriteResult&& w) { errors.push_back(w.error); });
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    ::signal(SIGXFSZ, old_handler);
    for (const std::error_code& e : errors) EXPECT_EQ(e, StoreErrc::disk_full) << e.message();
    EXPECT_GE(lane.stats().failed_commits.load(), 1u);
    // The lane reopens the environment right after posting the failures, not at its next write.
    for (int i = 0; i < 1000 && lane.stats().reopens.load() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GE(lane.stats().reopens.load(), 1u);

    WriteRequest after = put_of(*dbi, 200, 1 << 20);
    ASSERT_TRUE(lane.submit(after));
    wait_for(lane, 1, [](WriteResult&& w) { EXPECT_FALSE(w.error) << w.error.message(); });

    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    for (std::uint64_t id = 1; id <= 10; ++id) EXPECT_TRUE(read->get(*dbi, key_of(id))) << id;
    for (std::uint64_t id = 100; id < 105; ++id) EXPECT_EQ(read->get(*dbi, key_of(id)).error(), StoreErrc::not_found);
    EXPECT_TRUE(read->get(*dbi, key_of(200)));
}

}  // namespace
}  // namespace vmx::store
