// store_bench: durable appends per second through one store lane (group commit, LMDB default sync)
// against the same workload committed one record per transaction, at 1, 10 and 100 KiB values with
// 1, 8 and 64 concurrent writers. "Writers" are requests kept in flight by one submitting thread, as
// the connections of one shard would. Values are random (incompressible) bytes written as they are:
// sealing and compression come later in issue 4 and will be measured here when they exist.
// Runs in a folder on a real disk (default /var/tmp): fsync on tmpfs costs nothing.
#include <poll.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "store/lane.h"

namespace {

using namespace vmx::store;
using Clock = std::chrono::steady_clock;

constexpr long kTmpfsMagic = 0x01021994;

struct RunResult {
    double ops_per_s = 0;
    double requests_per_txn = 0;
    std::uint64_t ops = 0;
};

std::vector<std::uint8_t> key_of(std::uint64_t n) {
    std::vector<std::uint8_t> k(8);
    for (int i = 0; i < 8; ++i) k[i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
    return k;
}

RunResult run_one(const std::string& base, std::size_t value_bytes, std::uint32_t writers, bool group,
                  double seconds, std::uint64_t ops_max, const std::vector<std::uint8_t>& random_pool) {
    const std::string path = fmt::format("{}/run-{}-{}-{}", base, value_bytes, writers, group ? "group" : "single");
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    EnvOptions eo;
    eo.map_bytes = std::size_t{1} << 30;
    eo.map_bytes_max = std::size_t{16} << 30;
    auto env = Env::open(path, eo);
    if (!env) {
        std::fprintf(stderr, "store_bench: cannot open %s: %s\n", path.c_str(), env.error().message().c_str());
        std::exit(1);
    }
    auto dbi = (*env)->open_dbi("records");
    LaneOptions lo;
    lo.batch_requests_max = group ? lo.batch_requests_max : 1;
    RunResult out;
    {
        Lane lane({env->get()}, lo);
        if (!lane.start() || !dbi) std::exit(1);
        std::uint64_t next = 0, done = 0;
        auto submit = [&] {
            WriteRequest r;
            r.token = next;
            // A different window of the random pool per record: incompressible, and no two alike.
            const std::size_t offset = (next * 4099) % (random_pool.size() - value_bytes);
            const auto first = random_pool.begin() + static_cast<long>(offset);
            r.ops.push_back(WriteOp{WriteOpKind::put, *dbi, key_of(next),
                                    std::vector<std::uint8_t>(first, first + static_cast<long>(value_bytes))});
            ++next;
            if (!lane.submit(r)) std::exit(2);
        };
        const auto start = Clock::now();
        const auto end = start + std::chrono::duration<double>(seconds);
        for (std::uint32_t i = 0; i < writers; ++i) submit();
        while (done < next) {
            pollfd p{lane.result_fd(), POLLIN, 0};
            ::poll(&p, 1, 1000);
            lane.acknowledge_wake();
            const bool more = Clock::now() < end && next < ops_max;
            done += lane.drain_results([&](WriteResult&& w) {
                if (w.error) {
                    std::fprintf(stderr, "store_bench: write failed: %s\n", w.error.message().c_str());
                    std::exit(3);
                }
                if (more) submit();
            });
        }
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        out.ops = done;
        out.ops_per_s = static_cast<double>(done) / elapsed;
        const std::uint64_t txns = std::max<std::uint64_t>(1, lane.stats().transactions.load());
        out.requests_per_txn = static_cast<double>(done) / static_cast<double>(txns);
    }
    env->reset();
    std::filesystem::remove_all(path);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir = "/var/tmp";
    double seconds = 1.2;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (arg == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
        else {
            std::fprintf(stderr, "usage: store_bench [--dir FOLDER_ON_A_REAL_DISK] [--seconds PER_RUN]\n");
            return 2;
        }
    }
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) == 0 && fs.f_type == kTmpfsMagic)
        std::fprintf(stderr, "store_bench: warning: %s is tmpfs, where fsync is free; figures are meaningless\n",
                     dir.c_str());
    char name[] = "/store-bench-XXXXXX";
    std::string base = dir + name;
    if (::mkdtemp(base.data()) == nullptr) {
        std::fprintf(stderr, "store_bench: cannot create a folder in %s\n", dir.c_str());
        return 1;
    }
    std::vector<std::uint8_t> pool(std::size_t{8} << 20);
    std::mt19937_64 random(12345);
    for (std::size_t i = 0; i + 8 <= pool.size(); i += 8) {
        const std::uint64_t x = random();
        std::memcpy(pool.data() + i, &x, 8);
    }
    std::printf("durable appends/s through one store lane (LMDB default sync) in %s, %.1f s per run\n",
                base.c_str(), seconds);
    std::printf("values: random bytes, not yet sealed or compressed\n\n");
    std::printf("%8s %8s %14s %10s %16s %8s\n", "value", "writers", "group commit/s", "req/txn", "one per txn/s",
                "ratio");
    for (const std::size_t kib : {1, 10, 100}) {
        const std::uint64_t ops_max = kib == 100 ? 20000 : 200000;  // bounds the disk used at 100 KiB
        for (const std::uint32_t writers : {1u, 8u, 64u}) {
            const RunResult g = run_one(base, kib * 1024, writers, true, seconds, ops_max, pool);
            const RunResult s = run_one(base, kib * 1024, writers, false, seconds, ops_max, pool);
            std::printf("%6zu K %8u %14.0f %10.1f %16.0f %7.1fx\n", kib, writers, g.ops_per_s, g.requests_per_txn,
                        s.ops_per_s, g.ops_per_s / s.ops_per_s);
            std::fflush(stdout);
        }
    }
    std::filesystem::remove_all(base);
    return 0;
}
