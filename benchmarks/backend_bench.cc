// backend_bench: the storage seam (store/backend.h) on LMDB against Ceph RADOS on the same box.
// For each backend, durable commits of one put per batch (an index entry or a small sealed record)
// with 1 and 8 writers (threads, each committing in turn), blob writes (message bodies) and snapshot
// reads. CPU per operation counts this process and, for RADOS, the cluster's own daemons (their pids
// from scripts/ceph-dev's run folder), since both run on this machine.
//   backend_bench --dir DIR [--ceph-conf FILE --ceph-dir DIR] [--ops N] [--json FILE]
// DIR must be on a real disk (fsync on tmpfs costs nothing).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "store/lmdb_space.h"
#include "store/rados_space.h"

namespace {

using namespace vmx::store;
using Clock = std::chrono::steady_clock;

// CPU seconds of this process plus the given other processes (user + system).
double cpu_seconds(const std::vector<int>& others) {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    double s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    for (int pid : others) {
        std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        std::getline(f, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::vector<std::string> fields;
        std::string field;
        for (char c : line.substr(close + 2)) {
            if (c == ' ') {
                fields.push_back(field);
                field.clear();
            } else {
                field += c;
            }
        }
        if (fields.size() > 12) s += (std::stod(fields[11]) + std::stod(fields[12])) / tick;  // utime, stime
    }
    return s;
}

std::vector<int> ceph_pids(const std::string& dir) {
    std::vector<int> pids;
    if (dir.empty()) return pids;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/run")) {
        if (e.path().extension() != ".pid") continue;
        std::ifstream f(e.path());
        int pid = 0;
        if (f >> pid) pids.push_back(pid);
    }
    return pids;
}

struct Figure {
    std::string name;
    double per_second = 0;
    double cpu_us_per_op = 0;
    std::uint64_t ops = 0;
};

ByteString random_bytes(std::size_t n, std::mt19937_64& rng) {
    ByteString out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

ByteString key_of(std::uint64_t i, std::uint32_t writer) {
    ByteString k(12);
    for (int b = 0; b < 8; ++b) k[b] = static_cast<std::uint8_t>(i >> (56 - 8 * b));
    for (int b = 0; b < 4; ++b) k[8 + b] = static_cast<std::uint8_t>(writer >> (24 - 8 * b));
    return k;
}

// ops operations spread over `writers` threads; op(writer, i) does one and says whether it worked.
template <class Op>
Figure measure(std::string name, std::uint64_t ops, std::uint32_t writers, const std::vector<int>& pids, Op op) {
    std::atomic<std::uint64_t> failures{0};
    const double cpu0 = cpu_seconds(pids);
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (std::uint32_t w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            for (std::uint64_t i = w; i < ops; i += writers)
                if (!op(w, i)) failures.fetch_add(1);
        });
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = cpu_seconds(pids) - cpu0;
    if (failures.load() > 0) {
        std::fprintf(stderr, "backend_bench: %s: %llu operations failed\n", name.c_str(),
                     static_cast<unsigned long long>(failures.load()));
        std::_Exit(1);  // a benchmark that failed has nothing to tidy
    }
    return {std::move(name), static_cast<double>(ops) / seconds, cpu / static_cast<double>(ops) * 1e6, ops};
}

std::vector<Figure> run(Space& space, std::uint64_t ops, const std::vector<int>& pids) {
    std::vector<Figure> out;
    auto table = space.table("bench");
    if (!table) {
        std::fprintf(stderr, "backend_bench: table: %s\n", table.error().message().c_str());
        std::_Exit(1);  // a benchmark that failed has nothing to tidy
    }
    std::mt19937_64 rng(42);  // NOLINT(cert-msc51-cpp): the same bytes for both backends
    const ByteString record = random_bytes(300, rng);    // a sealed index entry or envelope
    const ByteString body = random_bytes(64 << 10, rng);  // one body chunk's worth
    for (std::uint32_t writers : {1U, 8U}) {
        out.push_back(measure(fmt::format("commit 300 B, {} writer{}", writers, writers > 1 ? "s" : ""), ops, writers,
                              pids, [&](std::uint32_t w, std::uint64_t i) {
                                  Batch b;
                                  b.put(*table, key_of(i, w + writers * 100), record);
                                  return space.commit(b).has_value();
                              }));
    }
    out.push_back(measure("blob 64 KiB, 8 writers", ops / 2, 8, pids, [&](std::uint32_t w, std::uint64_t i) {
        return space.put_blob(key_of(i, w), body).has_value();
    }));
    out.push_back(measure("snapshot + get, 1 reader", ops, 1, pids, [&](std::uint32_t, std::uint64_t i) {
        auto snap = space.snapshot();
        return snap && (*snap)->get(*table, key_of(i, 100)).has_value();
    }));
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    std::string ceph_conf;
    std::string ceph_dir;
    std::string json;
    std::uint64_t ops = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--dir") dir = argv[i + 1];
        else if (a == "--ceph-conf") ceph_conf = argv[i + 1];
        else if (a == "--ceph-dir") ceph_dir = argv[i + 1];
        else if (a == "--json") json = argv[i + 1];
        else if (a == "--ops") ops = std::strtoull(argv[i + 1], nullptr, 10);
    }
    if (dir.empty() || ops == 0) {
        std::fprintf(stderr, "usage: backend_bench --dir DIR [--ceph-conf FILE --ceph-dir DIR] [--ops N] [--json FILE]\n");
        return 2;
    }
    std::vector<std::pair<std::string, std::vector<Figure>>> results;
    {
        const std::string folder = dir + "/backend-bench-lmdb";
        std::filesystem::remove_all(folder);
        std::filesystem::create_directories(folder);
        EnvOptions options;
        options.map_bytes_max = std::size_t{4} << 30;
        auto space = LmdbSpace::open(folder, options);
        if (!space) {
            std::fprintf(stderr, "backend_bench: lmdb: %s\n", space.error().message().c_str());
            return 1;
        }
        results.emplace_back("lmdb", run(**space, ops, {}));
        std::filesystem::remove_all(folder);
    }
    if (!ceph_conf.empty()) {
        RadosOptions options;
        options.conf = ceph_conf;
        options.ns = fmt::format("bench{}", getpid());
        auto cluster = RadosCluster::connect(options);
        if (!cluster) {
            std::fprintf(stderr, "backend_bench: rados: %s\n", cluster.error().message().c_str());
            return 1;
        }
        auto space = RadosSpace::open(*cluster, "bench");
        if (!space) {
            std::fprintf(stderr, "backend_bench: rados space: %s\n", space.error().message().c_str());
            return 1;
        }
        results.emplace_back("rados", run(**space, ops, ceph_pids(ceph_dir)));
    }
    std::string out = "{";
    for (const auto& [backend, figures] : results) {
        for (const Figure& f : figures) {
            std::printf("%-6s %-28s %10.0f /s %9.1f us CPU/op\n", backend.c_str(), f.name.c_str(), f.per_second,
                        f.cpu_us_per_op);
            out += fmt::format("{}\"{} {}\": {{\"per_second\": {:.1f}, \"cpu_us_per_op\": {:.1f}}}",
                               out.size() > 1 ? ", " : "", backend, f.name, f.per_second, f.cpu_us_per_op);
        }
    }
    out += "}\n";
    if (!json.empty()) std::ofstream(json) << out;
    return 0;
}
