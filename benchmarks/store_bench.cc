// store_bench: durable appends per second through one store lane (group commit, LMDB default sync)
// against the same workload committed one request per transaction, at 1, 10 and 100 KiB with 1, 8
// and 64 concurrent writers, in one run. Two workloads:
//   raw     one put of random (incompressible) bytes per request: the lane and LMDB alone.
//   sealed  what production does (issue 4's target): each writer is one mailbox's MailboxWriter;
//           an append compresses the body (igzip) and seals every value (crypto/sealed_record.h) on
//           the submitting thread, as the shard does, and the lane commits its ops. Bodies are
//           mail-like (headers, mostly text, a base64 part) so compression saves some.
// "Writers" are requests kept in flight by one submitting thread, as the connections of one shard
// would. Runs in a folder on a real disk (default /var/tmp): fsync on tmpfs costs nothing.
// --json FILE also writes the table's figures to FILE as one JSON object (scripts/bench).
#include <poll.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "appliance/common/json_text.h"  // header-only; the benchmarks sit above every layer
#include "crypto/keyring.h"
#include "crypto/master_key.h"
#include "store/lane.h"
#include "store/mailbox.h"

namespace {

using namespace vmx::store;
namespace crypto = vmx::crypto;
using Clock = std::chrono::steady_clock;

constexpr long kTmpfsMagic = 0x01021994;

enum class Workload : std::uint8_t { raw, sealed };
enum class Commit : std::uint8_t { group, one_per_txn };

struct RunResult {
    double ops_per_s = 0;
    double requests_per_txn = 0;
    std::uint64_t ops = 0;
    double stored_per_body = 0;    // sealed: value bytes written / body bytes appended
    double prepare_us = 0;         // sealed: submitting-thread time per append (compress + seal + plan)
};

std::vector<std::uint8_t> key_of(std::uint64_t n) {
    std::vector<std::uint8_t> k(8);
    for (int i = 0; i < 8; ++i) k[i] = static_cast<std::uint8_t>(n >> (56 - 8 * i));
    return k;
}

// Inputs shared by every run: random bytes for `raw`, mail-like text for `sealed`.
struct Pools {
    std::vector<std::uint8_t> random;
    std::vector<std::uint8_t> text;      // words and punctuation, in lines of about 72 characters
    std::vector<std::uint8_t> base64;    // random bytes in base64 lines (an attachment)
};

Pools make_pools() {
    Pools p;
    std::mt19937_64 random(12345);  // NOLINT(cert-msc51-cpp): the same inputs every run, so runs compare
    p.random.resize(std::size_t{8} << 20);
    for (std::size_t i = 0; i + 8 <= p.random.size(); i += 8) {
        const std::uint64_t x = random();
        std::memcpy(p.random.data() + i, &x, 8);
    }
    // A vocabulary of a few hundred made-up words with a skewed choice: compresses about as well as
    // prose does at igzip level 1 (roughly 2-3:1).
    std::vector<std::string> words;
    const std::string_view letters = "etaoinshrdlcumwfgypbvkjxqz";
    for (int w = 0; w < 600; ++w) {
        std::string word;
        const std::size_t len = 2 + random() % 9;
        for (std::size_t c = 0; c < len; ++c) word += letters[(random() % 26) * (random() % 26) / 26];
        words.push_back(word);
    }
    std::string text;
    std::size_t line = 0;
    while (text.size() < (std::size_t{4} << 20)) {
        const std::size_t r = random() % words.size();
        const std::string& word = words[r * (random() % words.size()) / words.size()];
        text += word;
        line += word.size() + 1;
        const std::uint64_t mark = random() % 16;
        text += mark == 0 ? ". " : mark == 1 ? ", " : " ";
        if (line > 72) text += "\r\n", line = 0;
    }
    p.text.assign(text.begin(), text.end());
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; p.base64.size() < (std::size_t{2} << 20); ++i) {
        p.base64.push_back(static_cast<std::uint8_t>(alphabet[random() % 64]));
        if (i % 76 == 75) p.base64.push_back('\r'), p.base64.push_back('\n');
    }
    return p;
}

// One message of exactly `bytes`: headers, 75% text, then a base64 part, each from a window of its
// pool that moves with `n`, so no two messages are alike.
std::vector<std::uint8_t> mail_body(const Pools& p, std::size_t bytes, std::uint64_t n) {
    std::string head = fmt::format(
        "Received: from mx{}.example.net (mx{}.example.net [192.0.2.{}])\r\n\tby vaultmx with ESMTPS id {:016x}\r\n"
        "From: Sender {} <sender{}@example.org>\r\nTo: user{}@example.com\r\nSubject: Report {} for the quarter\r\n"
        "Date: Mon, 23 Nov 2026 02:{:02}:{:02} +0000\r\nMessage-ID: <{:x}@example.org>\r\n"
        "Content-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
        n % 7, n % 7, n % 250, n * 0x9e3779b97f4a7c15ull, n, n, n % 64, n, n % 60, (n / 60) % 60, n * 31, n);
    std::vector<std::uint8_t> body(head.begin(), head.end());
    body.resize(std::min(body.size(), bytes));
    const std::size_t rest = bytes - body.size();
    const std::size_t text_bytes = rest - rest / 4;
    const std::size_t text_at = (n * 7919) % (p.text.size() - text_bytes);
    body.insert(body.end(), p.text.begin() + static_cast<long>(text_at),
                p.text.begin() + static_cast<long>(text_at + text_bytes));
    const std::size_t b64_bytes = bytes - body.size();
    const std::size_t b64_at = (n * 104729) % (p.base64.size() - b64_bytes);
    body.insert(body.end(), p.base64.begin() + static_cast<long>(b64_at),
                p.base64.begin() + static_cast<long>(b64_at + b64_bytes));
    return body;
}

// std::_Exit, not std::exit: a lane thread may still be running, and exit's destructors of
// statics would race with it (every row printed so far has been flushed).
[[noreturn]] void die(const char* what, std::error_code error) {
    std::fprintf(stderr, "store_bench: %s: %s\n", what, error.message().c_str());
    std::_Exit(3);
}

crypto::MasterKey bench_master() {
    std::array<std::uint8_t, 32> m{};
    for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(5 * i + 3);
    auto check = crypto::master_key_check(m);
    if (!check) die("master_key_check", check.error());
    return crypto::MasterKey{crypto::SecretBytes::copy_of(m), *check};
}

struct RunSpec {
    Workload workload = Workload::raw;
    Commit commit = Commit::group;
    std::size_t value_bytes = 0;
    std::uint32_t writers = 0;
    double seconds = 0;
    std::uint64_t ops_max = 0;
};

struct Context {
    const Pools* pools = nullptr;
    const crypto::KeySet* keys = nullptr;  // sealed: a scope key per mailbox (user 1..64)
};

crypto::Scope scope_of(std::uint64_t user) { return crypto::Scope{crypto::ScopeKind::user, user}; }

RunResult run_one(const std::string& base, const RunSpec& spec, const Context& ctx) {
    const std::string path = fmt::format("{}/run-{}-{}-{}-{}", base, spec.workload == Workload::raw ? "raw" : "sealed",
                                         spec.value_bytes, spec.writers,
                                         spec.commit == Commit::group ? "group" : "single");
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    EnvOptions eo;
    eo.map_bytes = std::size_t{1} << 30;
    eo.map_bytes_max = std::size_t{16} << 30;
    auto env = Env::open(path, eo);
    if (!env) die("cannot open the environment", env.error());
    auto dbi = spec.workload == Workload::raw ? (*env)->open_dbi("records") : open_mailbox_dbi(**env);
    if (!dbi) die("cannot open the database", dbi.error());

    // sealed: one MailboxWriter per writer (one mailbox each: one change in flight per mailbox).
    std::vector<MailboxWriter> boxes;
    if (spec.workload == Workload::sealed) {
        auto txn = ReadTxn::begin(**env);
        if (!txn) die("read transaction", txn.error());
        for (std::uint32_t w = 0; w < spec.writers; ++w) {
            auto writer = MailboxWriter::load(*txn, *dbi, *ctx.keys, MailboxRef{w + 1u, 0, scope_of(w + 1u)});
            if (!writer) die("MailboxWriter::load", writer.error());
            boxes.push_back(std::move(*writer));
        }
    }

    LaneOptions lo;
    lo.batch_requests_max = spec.commit == Commit::group ? lo.batch_requests_max : 1;
    RunResult out;
    std::uint64_t body_bytes = 0, stored_bytes = 0;
    Clock::duration prepare{};
    {
        Lane lane({env->get()}, lo);
        if (auto started = lane.start(); !started) die("lane start", started.error());
        std::uint64_t next = 0, done = 0;
        std::vector<std::uint32_t> ready;  // writers whose request completed in this drain
        ready.reserve(spec.writers);
        // Submits the next request of writer `w` (its token).
        auto submit = [&](std::uint32_t w) {
            WriteRequest r;
            r.token = w;
            if (spec.workload == Workload::raw) {
                // A different window of the random pool per record: incompressible, and no two alike.
                const auto& pool = ctx.pools->random;
                const std::size_t offset = (next * 4099) % (pool.size() - spec.value_bytes);
                const auto first = pool.begin() + static_cast<long>(offset);
                r.ops.push_back(WriteOp{WriteOpKind::put, *dbi, key_of(next),
                                        std::vector<std::uint8_t>(first, first + static_cast<long>(spec.value_bytes))});
            } else {
                const std::vector<std::uint8_t> body = mail_body(*ctx.pools, spec.value_bytes, next);
                const auto t0 = Clock::now();
                auto change = boxes[w].append(*ctx.keys, body, AppendOptions{1795000000, 0});
                prepare += Clock::now() - t0;
                if (!change) die("MailboxWriter::append", change.error());
                body_bytes += body.size();
                for (const WriteOp& op : change->ops) stored_bytes += op.value.size();
                r.ops = std::move(change->ops);
            }
            ++next;
            if (auto submitted = lane.submit(r); !submitted) die("Lane::submit", submitted.error());
        };
        const auto start = Clock::now();
        const auto end = start + std::chrono::duration<double>(spec.seconds);
        for (std::uint32_t w = 0; w < spec.writers; ++w) submit(w);
        while (done < next) {
            pollfd p{lane.result_fd(), POLLIN, 0};
            ::poll(&p, 1, 1000);
            lane.acknowledge_wake();
            const bool more = Clock::now() < end && next < spec.ops_max;
            // Resubmit after the drain, not from its callback: drain_results() counts what it drained
            // out of in_flight() only when it returns, and while slow appends (100 KiB) are prepared
            // inside it the lane keeps posting, so the drain would go on and the lane's queue fill.
            ready.clear();
            done += lane.drain_results([&](WriteResult&& w) {
                if (w.error) die("write failed", w.error);
                const auto writer = static_cast<std::uint32_t>(w.token);
                if (!boxes.empty()) boxes[writer].done(w.error);
                ready.push_back(writer);
            });
            if (more)
                for (const std::uint32_t writer : ready) submit(writer);
        }
        const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        out.ops = done;
        out.ops_per_s = static_cast<double>(done) / elapsed;
        const std::uint64_t txns = std::max<std::uint64_t>(1, lane.stats().transactions.load());
        out.requests_per_txn = static_cast<double>(done) / static_cast<double>(txns);
    }
    if (body_bytes > 0) {
        out.stored_per_body = static_cast<double>(stored_bytes) / static_cast<double>(body_bytes);
        out.prepare_us = std::chrono::duration<double, std::micro>(prepare).count() / static_cast<double>(out.ops);
    }
    boxes.clear();
    env->reset();
    std::filesystem::remove_all(path);
    return out;
}

// One line of a table: the same workload committed both ways.
struct Row {
    Workload workload = Workload::raw;
    std::size_t value_kib = 0;
    std::uint32_t writers = 0;
    RunResult group;
    RunResult single;
};

const char* workload_name(Workload workload) { return workload == Workload::raw ? "raw" : "sealed"; }

void print_header(Workload workload) {
    if (workload == Workload::raw) {
        std::printf("raw: random bytes, one put per request, not sealed or compressed\n");
        std::printf("%8s %8s %14s %10s %16s %8s\n", "value", "writers", "group commit/s", "req/txn", "one per txn/s",
                    "ratio");
    } else {
        std::printf("sealed: MailboxWriter appends (igzip + seal on the submitting thread), mail-like bodies\n");
        std::printf("%8s %8s %14s %10s %16s %8s %12s %10s\n", "body", "writers", "group commit/s", "req/txn",
                    "one per txn/s", "ratio", "stored/body", "prep us");
    }
}

void print_row(const Row& r) {
    std::printf("%6zu K %8u %14.0f %10.1f %16.0f %7.1fx", r.value_kib, r.writers, r.group.ops_per_s,
                r.group.requests_per_txn, r.single.ops_per_s, r.group.ops_per_s / r.single.ops_per_s);
    if (r.workload == Workload::sealed) std::printf(" %12.2f %10.1f", r.group.stored_per_body, r.group.prepare_us);
    std::printf("\n");
    if (std::fflush(stdout) != 0) die("stdout", std::error_code(errno, std::generic_category()));
}

// Prints one table as it runs and appends its lines to `rows`.
void run_table(const std::string& base, Workload workload, double seconds, const Context& ctx,
               std::vector<Row>& rows) {
    print_header(workload);
    for (const std::size_t kib : {1, 10, 100}) {
        const std::uint64_t ops_max = kib == 100 ? 20000 : 200000;  // bounds the disk used at 100 KiB
        for (const std::uint32_t writers : {1u, 8u, 64u}) {
            RunSpec spec{workload, Commit::group, kib * 1024, writers, seconds, ops_max};
            Row row{workload, kib, writers, run_one(base, spec, ctx), {}};
            spec.commit = Commit::one_per_txn;
            row.single = run_one(base, spec, ctx);
            print_row(row);
            rows.push_back(row);
        }
    }
    std::printf("\n");
}

// The figures of print_row, named with their units; raw rows have no sealing figures.
std::string row_json(const Row& r) {
    std::string out = fmt::format(
        "{{\"workload\": \"{}\", \"value_kib\": {}, \"writers\": {}, \"group_commit_appends_per_s\": {:.1f}, "
        "\"group_commit_requests_per_txn\": {:.2f}, \"one_per_txn_appends_per_s\": {:.1f}, "
        "\"group_over_one_per_txn_ratio\": {:.3f}",
        workload_name(r.workload), r.value_kib, r.writers, r.group.ops_per_s, r.group.requests_per_txn,
        r.single.ops_per_s, r.group.ops_per_s / r.single.ops_per_s);
    if (r.workload == Workload::sealed)
        out += fmt::format(", \"stored_bytes_per_body_byte\": {:.3f}, \"prepare_per_append_us\": {:.2f}",
                           r.group.stored_per_body, r.group.prepare_us);
    return out + "}";
}

// Writes every row as one JSON object to `path`; false (after a message) if the file cannot be written.
bool write_json(const std::string& path, const std::string& base, double seconds, const std::vector<Row>& rows) {
    std::string out = fmt::format("{{\"benchmark\": \"store_bench\", \"dir\": {}, \"seconds_per_run\": {}, \"rows\": [",
                                  vmx::json_string(base), seconds);
    for (std::size_t i = 0; i < rows.size(); ++i) out += (i ? ", " : "") + row_json(rows[i]);
    out += "]}\n";
    std::FILE* file = std::fopen(path.c_str(), "w");
    const bool written = file != nullptr && std::fwrite(out.data(), 1, out.size(), file) == out.size();
    if ((file != nullptr && std::fclose(file) != 0) || !written) {
        std::fprintf(stderr, "store_bench: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

// A positive number of seconds, the whole of `text`.
bool parse_seconds(std::string_view text, double& out) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0)) return false;
    out = value;
    return true;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string dir = "/var/tmp";
    double seconds = 1.2;
    std::string json_path;  // empty: no JSON
    bool with_raw = true, with_sealed = true;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (arg == "--seconds" && i + 1 < argc && parse_seconds(argv[i + 1], seconds)) ++i;
        else if (arg == "--sealed-only") with_raw = false;
        else if (arg == "--raw-only") with_sealed = false;
        else if (arg == "--json" && i + 1 < argc) json_path = argv[++i];
        else {
            std::fprintf(stderr, "usage: store_bench [--dir FOLDER_ON_A_REAL_DISK] [--seconds PER_RUN] "
                                 "[--sealed-only | --raw-only] [--json FILE]\n");
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
    const Pools pools = make_pools();
    crypto::Keyring ring = crypto::Keyring::create(bench_master());
    for (std::uint64_t user = 1; user <= 64; ++user) {
        if (auto r = ring.ensure_scope_key(scope_of(user), 1795000000); !r) die("ensure_scope_key", r.error());
    }
    const std::shared_ptr<const crypto::KeySet> keys = ring.snapshot();
    const Context ctx{&pools, keys.get()};
    std::printf("durable appends/s through one store lane (LMDB default sync) in %s, %.1f s per run\n",
                base.c_str(), seconds);
    std::printf("ratio = group commit / one request per transaction, same workload; stored/body = sealed value "
                "bytes per body byte; prep us = submitting-thread time per append\n\n");
    std::vector<Row> rows;
    if (with_raw) run_table(base, Workload::raw, seconds, ctx, rows);
    if (with_sealed) run_table(base, Workload::sealed, seconds, ctx, rows);
    std::filesystem::remove_all(base);
    if (!json_path.empty() && !write_json(json_path, base, seconds, rows)) return 1;
    return 0;
} catch (const std::exception& e) {  // a folder that cannot be removed, out of memory: one line, not an abort
    std::fprintf(stderr, "store_bench: %s\n", e.what());
    return 1;
}
