// vaultmx-bench: the load harness and the engine's benchmarks. `smtp`, `pop3` and `mixed` load a
// mail server and report rates, latency per step and errors; `sink` is a discard SMTP server (the
// harness's ceiling); see benchmarks/mail/. `echo` measures loopback echo round trips against the
// engine and against a plain epoll loop, both with one thread and with N, in one run, and reports
// round trips per second and per server CPU-second. `idle` holds many idle connections on one
// shard and reports the memory each costs. Runs on the main thread, which is also the engine's
// control endpoint.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "benchmarks/echo_load.h"
#include "benchmarks/epoll_echo_server.h"
#include "benchmarks/mail/mail_commands.h"
#include "core/engine.h"
#include "core/log.h"
#include "tests/support/echo_service.h"
#include "tests/support/test_net.h"

namespace vmx::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double warm_up_s = 0.3;           // connections busy before the window opens
constexpr double ratio_target = 1.5;        // round trips per server CPU-second, engine over epoll
constexpr std::size_t idle_budget_bytes = 16384;
constexpr int idle_settle_timeout_ms = 30000;

// ---------------------------------------------------------------- echo

struct EchoOptions {
    double seconds = 3;
    std::uint32_t connections = 64;
    std::uint32_t message_bytes = 64;
    std::uint32_t shards = 0;          // 0: one per usable CPU (default_shard_count)
    std::uint32_t client_threads = 0;  // 0: one per usable CPU
    std::uint32_t rounds = 1;
    bool json = false;
};

// What the harness reads from a running server, before and after the window.
struct ServerProbe {
    std::function<std::uint64_t()> cpu_ns;
    std::function<std::uint64_t()> waits;  // io_uring_enter turns or epoll_wait calls
};

struct Measurement {
    std::string server;            // "engine" or "epoll"
    std::string ring;              // the engine's io_uring setup flags, as its start-up log says
    std::uint32_t threads = 0;
    std::uint64_t round_trips = 0;
    std::uint64_t waits = 0;
    std::uint64_t failures = 0;
    double wall_s = 0;
    double server_cpu_s = 0;
    double client_cpu_s = 0;

    void add(const Measurement& m) {
        round_trips += m.round_trips;
        waits += m.waits;
        failures += m.failures;
        wall_s += m.wall_s;
        server_cpu_s += m.server_cpu_s;
        client_cpu_s += m.client_cpu_s;
    }
    double per_s() const { return static_cast<double>(round_trips) / wall_s; }
    double per_cpu_s() const { return server_cpu_s > 0 ? static_cast<double>(round_trips) / server_cpu_s : 0; }
    double per_wait() const { return waits ? static_cast<double>(round_trips) / static_cast<double>(waits) : 0; }
};

double seconds_of(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Runs the load against a server already listening on port and measures the timed window.
Result<Measurement> drive(const EchoOptions& o, std::uint16_t port, const ServerProbe& probe) {
    EchoLoad load;
    const LoadSpec spec{port, o.client_threads, o.connections, o.message_bytes};
    if (auto r = load.start(spec); !r) return fail(r.error());
    sleep_s(warm_up_s);
    const std::uint64_t trips0 = load.round_trips(), cpu0 = probe.cpu_ns(), waits0 = probe.waits();
    const std::uint64_t client0 = load.cpu_ns();
    const auto t0 = Clock::now();
    sleep_s(o.seconds);
    const std::uint64_t trips1 = load.round_trips(), cpu1 = probe.cpu_ns(), waits1 = probe.waits();
    const std::uint64_t client1 = load.cpu_ns();
    const auto t1 = Clock::now();
    Measurement m;
    m.round_trips = trips1 - trips0;
    m.waits = waits1 - waits0;
    m.wall_s = std::chrono::duration<double>(t1 - t0).count();
    m.server_cpu_s = seconds_of(cpu1 - cpu0);
    m.client_cpu_s = seconds_of(client1 - client0);
    m.failures = load.failures();
    load.stop();
    return m;
}

std::vector<ListenerSpec> echo_listener(std::uint16_t port) {
    std::vector<ListenerSpec> listeners;
    listeners.push_back({"echo", *parse_socket_address("127.0.0.1:" + std::to_string(port)), testing::echo_factory()});
    return listeners;
}

Result<Measurement> measure_engine(const EchoOptions& o, std::uint32_t shards) {
    const std::uint16_t port = testing::pick_free_port();
    EngineConfig config;
    config.shards = shards;
    config.pin_threads = true;
    Engine engine(config, echo_listener(port), nullptr);
    if (const auto bind_error = engine.bind()) return fail(bind_error->error);
    if (auto r = engine.start(); !r) return fail(r.error());
    const ServerProbe probe{
        [&engine] { return engine.shard_cpu_ns(); },
        [&engine] {
            std::uint64_t turns = 0;
            for (std::uint32_t s = 0; s < engine.shard_count(); ++s)
                turns += engine.shard(s).stats().loop_iterations.load(std::memory_order_relaxed);
            return turns;
        },
    };
    auto m = drive(o, port, probe);
    engine.request_stop();
    engine.join();
    if (m) {
        m->server = "engine";
        m->threads = shards;
        m->ring = engine.shard(0).ring_features();
    }
    return m;
}

Result<Measurement> measure_epoll(const EchoOptions& o, std::uint32_t threads) {
    const std::uint16_t port = testing::pick_free_port();
    EpollEchoServer server;
    if (auto r = server.start(port, threads, PinThreads::yes); !r) return fail(r.error());
    const ServerProbe probe{[&server] { return server.cpu_ns(); }, [&server] { return server.waits(); }};
    auto m = drive(o, port, probe);
    server.stop();
    if (m) {
        m->server = "epoll";
        m->threads = threads;
    }
    return m;
}

struct Ratio {
    std::uint32_t threads = 0;
    double per_cpu_s = 0;
    double per_s = 0;
};

Ratio ratio_of(const Measurement& engine, const Measurement& epoll) {
    return {engine.threads, engine.per_cpu_s() / epoll.per_cpu_s(), engine.per_s() / epoll.per_s()};
}

std::string label_of(const Measurement& m) {
    const char* unit = m.server == "engine" ? (m.threads == 1 ? "shard" : "shards")
                                            : (m.threads == 1 ? "thread" : "threads");
    return fmt::format("{} ({} {})", m.server, m.threads, unit);
}

std::string ratio_line(const Ratio& r) {
    return fmt::format("ratio engine/epoll ({} {}): {:.2f}x round trips per CPU-second, {:.2f}x round trips per second",
                       r.threads, r.threads == 1 ? "shard" : "shards", r.per_cpu_s, r.per_s);
}

void print_table(const EchoOptions& o, const std::vector<Measurement>& runs, const std::vector<Ratio>& ratios) {
    fmt::print("vaultmx-bench echo: {} connections, {}-byte messages, {:.1f} s per server x {} rounds, "
               "{} client threads, {} usable CPUs\n\n",
               o.connections, o.message_bytes, o.seconds, o.rounds, o.client_threads, default_shard_count());
    fmt::print("{:<20} {:>14} {:>13} {:>18} {:>13} {:>10}\n", "server", "round trips/s", "server CPU-s",
               "round trips/CPU-s", "client CPU-s", "trips/wait");
    for (const Measurement& m : runs) {
        fmt::print("{:<20} {:>14.0f} {:>13.2f} {:>18.0f} {:>13.2f} {:>10.2f}\n", label_of(m), m.per_s(),
                   m.server_cpu_s, m.per_cpu_s(), m.client_cpu_s, m.per_wait());
    }
    fmt::print("\n(trips/wait: round trips per io_uring_enter loop turn for the engine, per epoll_wait for epoll;\n"
               " engine rings: {})\n",
               runs.front().ring);
    for (const Measurement& m : runs)
        if (m.failures) fmt::print("warning: {} client connections failed during {}\n", m.failures, label_of(m));
    for (const Ratio& r : ratios)
        fmt::print("{} (target {:.1f}x: {})\n", ratio_line(r), ratio_target,
                   r.per_cpu_s >= ratio_target ? "met" : "NOT met");
}

void print_json(const EchoOptions& o, const std::vector<Measurement>& runs, const std::vector<Ratio>& ratios) {
    std::string out = fmt::format(
        "{{\"connections\": {}, \"message_bytes\": {}, \"seconds\": {}, \"rounds\": {}, \"client_threads\": {}, "
        "\"cpus\": {}, \"runs\": [",
        o.connections, o.message_bytes, o.seconds, o.rounds, o.client_threads, default_shard_count());
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const Measurement& m = runs[i];
        out += fmt::format(
            "{}{{\"server\": \"{}\", \"ring\": \"{}\", \"threads\": {}, \"round_trips\": {}, \"wall_s\": {:.4f}, "
            "\"round_trips_per_s\": {:.1f}, \"server_cpu_s\": {:.4f}, \"round_trips_per_cpu_s\": {:.1f}, "
            "\"client_cpu_s\": {:.4f}, \"waits\": {}, \"failures\": {}}}",
            i ? ", " : "", m.server, m.ring, m.threads, m.round_trips, m.wall_s, m.per_s(), m.server_cpu_s,
            m.per_cpu_s(), m.client_cpu_s, m.waits, m.failures);
    }
    out += "], \"ratios\": [";
    for (std::size_t i = 0; i < ratios.size(); ++i) {
        out += fmt::format("{}{{\"threads\": {}, \"round_trips_per_cpu_s\": {:.3f}, \"round_trips_per_s\": {:.3f}}}",
                           i ? ", " : "", ratios[i].threads, ratios[i].per_cpu_s, ratios[i].per_s);
    }
    out += "]}\n";
    fmt::print("{}", out);
}

// Measures the servers of one round in their fixed order: engine 1, epoll 1, engine N, epoll N.
Result<std::vector<Measurement>> measure_round(const EchoOptions& o) {
    std::vector<Measurement> runs;
    for (const std::uint32_t n : {1u, o.shards}) {
        if (n == 1 && !runs.empty()) break;  // --shards 1: the N run is the 1 run
        auto engine = measure_engine(o, n);
        if (!engine) {
            fmt::print(stderr, "vaultmx-bench: engine with {} shards: {}\n", n, engine.error().message());
            return fail(engine.error());
        }
        runs.push_back(*engine);
        auto epoll = measure_epoll(o, n);
        if (!epoll) {
            fmt::print(stderr, "vaultmx-bench: epoll with {} threads: {}\n", n, epoll.error().message());
            return fail(epoll.error());
        }
        runs.push_back(*epoll);
    }
    return runs;
}

int run_echo(EchoOptions o) {
    if (o.shards == 0) o.shards = default_shard_count();
    if (o.client_threads == 0) o.client_threads = default_shard_count();
    testing::raise_fd_limit();
    // Rounds interleave the servers, so a change in background load spreads over all of them
    // instead of landing on one; the figures are the totals over every round.
    std::vector<Measurement> runs;
    for (std::uint32_t round = 0; round < o.rounds; ++round) {
        auto measured = measure_round(o);
        if (!measured) return 1;
        if (runs.empty()) {
            runs = std::move(*measured);
            continue;
        }
        for (std::size_t i = 0; i < runs.size(); ++i) runs[i].add((*measured)[i]);
    }
    std::vector<Ratio> ratios;
    for (std::size_t i = 0; i + 1 < runs.size(); i += 2) ratios.push_back(ratio_of(runs[i], runs[i + 1]));
    if (o.json) {
        print_json(o, runs, ratios);
    } else {
        print_table(o, runs, ratios);
    }
    for (const Measurement& m : runs)
        if (m.failures || m.round_trips == 0) return 1;
    return 0;
}

// ---------------------------------------------------------------- idle

// The value of one "Name:   123 kB" line of a /proc file, in bytes; 0 if absent.
std::uint64_t proc_kib_field(const char* path, std::string_view name) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.compare(0, name.size(), name) != 0) continue;
        return std::stoull(line.substr(name.size())) * 1024;
    }
    return 0;
}

std::uint64_t process_rss_bytes() { return proc_kib_field("/proc/self/status", "VmRSS:"); }
std::uint64_t kernel_slab_bytes() { return proc_kib_field("/proc/meminfo", "Slab:"); }

// Pages of TCP buffer memory, machine-wide (the "mem" field of /proc/net/sockstat's TCP line).
std::uint64_t tcp_buffer_pages() {
    std::ifstream in("/proc/net/sockstat");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("TCP:", 0) != 0) continue;
        std::istringstream fields(line);
        std::string word;
        while (fields >> word)
            if (word == "mem" && fields >> word) return std::stoull(word);
    }
    return 0;
}

// The parent and the client process speak over a socketpair with fixed-size values.
bool put_u32(int fd, std::uint32_t v) { return write(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v); }
std::optional<std::uint32_t> get_u32(int fd) {
    std::uint32_t v = 0;
    if (read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) return std::nullopt;
    return v;
}

// The client process: it holds the client ends so that each process stays within its descriptor
// limit and the parent's RSS holds the server side only. Steps, each on a word from the parent:
// connect, then check every connection still echoes, then (on end of stream) close and exit.
int idle_client(int link, std::uint16_t port, std::uint32_t count) {
    std::vector<int> fds;
    if (!get_u32(link)) return 1;
    fds.reserve(count);
    while (fds.size() < count) {
        const int fd = testing::connect_local(port);
        if (fd < 0) break;
        fds.push_back(fd);
    }
    if (!put_u32(link, static_cast<std::uint32_t>(fds.size())) || !get_u32(link)) return 1;
    std::uint32_t echoed = 0;
    for (const int fd : fds)
        if (testing::send_all(fd, "i") && testing::recv_exact(fd, 1) == "i") ++echoed;
    if (!put_u32(link, echoed)) return 1;
    (void)get_u32(link);  // end of stream: the parent has finished measuring
    for (const int fd : fds) close(fd);
    return 0;
}

struct IdleFigures {
    std::uint32_t connected = 0;
    std::uint64_t live = 0;
    std::uint64_t rss_start = 0;      // after the engine started, before any connection
    std::uint64_t rss_idle = 0;       // with every connection open and idle
    std::uint64_t rss_used = 0;       // after one echo on every connection
    std::int64_t slab_growth = 0;
    std::int64_t tcp_pages_growth = 0;
    std::uint32_t echoed = 0;
    bool fresh_echo = false;
};

double rss_growth_per_connection(const IdleFigures& f) {
    return (static_cast<double>(f.rss_idle) - static_cast<double>(f.rss_start)) / std::max<double>(1, f.connected);
}

// What the budget counts: the RSS growth plus the connection's slot, which was allocated at start.
double user_bytes_per_connection(const IdleFigures& f) {
    return rss_growth_per_connection(f) + static_cast<double>(sizeof(Connection));
}

void print_idle(std::uint32_t wanted, const IdleFigures& f) {
    const double n = std::max<double>(1, f.connected);
    const double rss_each = rss_growth_per_connection(f);
    const double user_each = user_bytes_per_connection(f);
    fmt::print("vaultmx-bench idle: {} idle connections to a 1-shard engine\n\n", wanted);
    fmt::print("connected by the client process:      {} of {}\n", f.connected, wanted);
    fmt::print("live on shard 0:                      {}\n", f.live);
    fmt::print("server process RSS:                   {:.1f} MiB at start, {:.1f} MiB with the connections\n",
               static_cast<double>(f.rss_start) / 1048576.0, static_cast<double>(f.rss_idle) / 1048576.0);
    fmt::print("  RSS growth per connection:          {:.0f} bytes\n", rss_each);
    fmt::print("  connection slot (preallocated):     {} bytes\n", sizeof(Connection));
    fmt::print("user-space bytes per idle connection: {:.0f} (budget {}: {})\n", user_each, idle_budget_bytes,
               user_each <= static_cast<double>(idle_budget_bytes) ? "within" : "OVER");
    fmt::print("  (receive buffers are shared per shard and send chunks are held only while bytes are queued;\n"
               "   the kernel's socket memory is not in RSS)\n");
    fmt::print("kernel, machine-wide, both ends of each connection plus its armed receive:\n");
    fmt::print("  slab growth:                        {:.0f} bytes per connection\n",
               static_cast<double>(f.slab_growth) / n);
    fmt::print("  TCP buffer pages growth:            {}\n", f.tcp_pages_growth);
    fmt::print("every idle connection still echoes:   {} of {}\n", f.echoed, f.connected);
    fmt::print("  RSS after one echo on each:         {:.1f} MiB ({:+.0f} bytes per connection since idle;\n"
               "                                      shared receive buffers being touched count here too)\n",
               static_cast<double>(f.rss_used) / 1048576.0,
               (static_cast<double>(f.rss_used) - static_cast<double>(f.rss_idle)) / n);
    fmt::print("echo on a fresh connection:           {}\n", f.fresh_echo ? "ok" : "FAILED");
}

bool echo_once(std::uint16_t port) {
    const int fd = testing::connect_local(port);
    if (fd < 0) return false;
    const bool ok = testing::send_all(fd, "ping\r\n") && testing::recv_exact(fd, 6) == "ping\r\n";
    close(fd);
    return ok;
}

// Parent side: measures while the client process holds the connections.
IdleFigures measure_idle(Engine& engine, int link, std::uint16_t port) {
    IdleFigures f;
    f.rss_start = process_rss_bytes();
    const std::uint64_t slab0 = kernel_slab_bytes(), pages0 = tcp_buffer_pages();
    if (!put_u32(link, 1)) return f;
    f.connected = get_u32(link).value_or(0);
    const auto& live = engine.shard(0).stats().connections_live;
    testing::wait_until([&] { return live.load(std::memory_order_relaxed) >= f.connected; }, idle_settle_timeout_ms);
    f.live = live.load(std::memory_order_relaxed);
    f.rss_idle = process_rss_bytes();
    f.slab_growth = static_cast<std::int64_t>(kernel_slab_bytes()) - static_cast<std::int64_t>(slab0);
    f.tcp_pages_growth = static_cast<std::int64_t>(tcp_buffer_pages()) - static_cast<std::int64_t>(pages0);
    f.fresh_echo = echo_once(port);
    if (put_u32(link, 2)) f.echoed = get_u32(link).value_or(0);
    f.rss_used = process_rss_bytes();
    return f;
}

int run_idle(std::uint32_t count) {
    testing::raise_fd_limit();
    const std::uint16_t port = testing::pick_free_port();
    int link[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) < 0) return 1;
    // Fork before the engine's threads exist: the child is a plain single-threaded client.
    const pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        close(link[0]);
        _exit(idle_client(link[1], port, count));
    }
    close(link[1]);
    EngineConfig config;
    config.shards = 1;
    config.connections_per_shard_max = count + 64;
    Engine engine(config, echo_listener(port), nullptr);
    if (const auto bind_error = engine.bind()) {
        fmt::print(stderr, "vaultmx-bench: bind {}: {}\n", bind_error->address, bind_error->error.message());
        close(link[0]);
        waitpid(child, nullptr, 0);
        return 1;
    }
    if (auto r = engine.start(); !r) {
        fmt::print(stderr, "vaultmx-bench: engine start: {}\n", r.error().message());
        close(link[0]);
        waitpid(child, nullptr, 0);
        return 1;
    }
    const IdleFigures f = measure_idle(engine, link[0], port);
    close(link[0]);  // the client closes its connections and exits
    int status = 0;
    waitpid(child, &status, 0);
    engine.request_stop();
    engine.join();
    print_idle(count, f);
    const bool ok = f.connected == count && f.live == count && f.echoed == count && f.fresh_echo &&
                    user_bytes_per_connection(f) <= static_cast<double>(idle_budget_bytes);
    return ok ? 0 : 1;
}

}  // namespace
}  // namespace vmx::bench

int main(int argc, char** argv) try {
    using namespace vmx::bench;
    vmx::set_log_level(vmx::LogLevel::warn);
    CLI::App app{"vaultmx-bench: mail load harness and the engine's benchmarks"};
    app.require_subcommand(1);
    app.set_version_flag("--version", VMX_VERSION);

    EchoOptions echo;
    CLI::App* echo_cmd = app.add_subcommand("echo", "loopback echo round trips: engine vs a plain epoll loop");
    echo_cmd->add_option("--seconds", echo.seconds, "timed window per server")
        ->check(CLI::Range(0.1, 60.0))
        ->capture_default_str();
    echo_cmd->add_option("--connections", echo.connections, "client connections")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    echo_cmd->add_option("--message-bytes", echo.message_bytes, "bytes per message")
        ->check(CLI::Range(1, 1 << 20))
        ->capture_default_str();
    echo_cmd->add_option("--shards", echo.shards, "N for the N-thread runs (0: one per usable CPU)")
        ->check(CLI::Range(0, 1024));
    echo_cmd->add_option("--client-threads", echo.client_threads, "load generator threads (0: one per usable CPU)")
        ->check(CLI::Range(0, 1024));
    echo_cmd->add_option("--rounds", echo.rounds, "rounds of the four servers, interleaved; figures are totals")
        ->check(CLI::Range(1, 20))
        ->capture_default_str();
    echo_cmd->add_flag("--json", echo.json, "print the figures as JSON");

    std::uint32_t idle_connections = 10000;
    CLI::App* idle_cmd = app.add_subcommand("idle", "memory per idle connection on one shard");
    idle_cmd->add_option("--connections", idle_connections, "idle connections")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();

    const auto mail = define_mail_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "vaultmx-bench: %s (see vaultmx-bench --help)\n", e.what());
        return exit_usage;
    }
    if (const int status = run_mail_command(*mail); status >= 0) return status;
    if (*echo_cmd) return run_echo(echo);
    return run_idle(idle_connections);
} catch (const std::exception& e) {  // out of memory, or a bug: one line and a failure status, not an abort
    std::fprintf(stderr, "vaultmx-bench: %s\n", e.what());
    return 1;
}
