// The engine from the outside: real sockets on loopback against shards serving the echo service.
#include "core/engine.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include <fstream>
#include <set>

#include "core/control_loop.h"
#include "core/log.h"
#include "tests/support/echo_service.h"
#include "tests/support/test_net.h"

namespace vmx {
namespace {

using testing::connect_local;
using testing::peer_closed;
using testing::recv_exact;
using testing::send_all;
using testing::wait_until;

EngineConfig small_config(std::uint32_t shards) {
    EngineConfig c;
    c.shards = shards;
    c.connections_per_shard_max = 4096;
    c.recv_buffers = 64;
    c.ring_entries = 256;
    c.pin_threads = false;
    return c;
}

// An engine serving echo on one loopback port; the test thread is its control endpoint.
struct Running {
    explicit Running(EngineConfig config, MessageHandler handler = {}) : port(testing::pick_free_port()) {
        std::vector<ListenerSpec> listeners;
        listeners.push_back({"echo", *parse_socket_address("127.0.0.1:" + std::to_string(port)), testing::echo_factory()});
        engine = std::make_unique<Engine>(config, std::move(listeners), nullptr, std::move(handler));
        const auto bind_error = engine->bind();
        EXPECT_FALSE(bind_error.has_value());
        EXPECT_TRUE(engine->start().has_value());
    }
    ~Running() {
        engine->request_stop();
        engine->join();
    }
    std::uint16_t port;
    std::unique_ptr<Engine> engine;
};

TEST(Engine, EchoesBytesBack) {
    Running r(small_config(1));
    const int fd = connect_local(r.port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "hello\r\n"));
    const int saved_errno = errno;
    const auto& stats = r.engine->shard(0).stats();
    EXPECT_EQ(recv_exact(fd, 7), "hello\r\n")
        << "errno=" << errno << " before=" << saved_errno << " accepted=" << stats.accepted.load()
        << " closed=" << stats.closed.load() << " received=" << stats.bytes_received.load()
        << " sent=" << stats.bytes_sent.load() << " nobufs=" << stats.recv_buffer_exhausted.load();
    close(fd);
}

TEST(Engine, EchoesLargePayloadIntact) {
    Running r(small_config(1));
    const int fd = connect_local(r.port);
    ASSERT_GE(fd, 0);
    std::string payload(3 * 1024 * 1024 + 17, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) ^ (i >> 9));
    std::thread writer([&] { send_all(fd, payload); });
    const std::string back = recv_exact(fd, payload.size());
    writer.join();
    EXPECT_EQ(back.size(), payload.size());
    EXPECT_TRUE(back == payload);
    close(fd);
}

TEST(Engine, SpreadsConnectionsOverShards) {
    Running r(small_config(4));
    std::vector<int> fds;
    for (int i = 0; i < 64; ++i) {
        const int fd = connect_local(r.port);
        ASSERT_GE(fd, 0);
        ASSERT_TRUE(send_all(fd, "x"));
        ASSERT_EQ(recv_exact(fd, 1), "x");
        fds.push_back(fd);
    }
    std::uint64_t total = 0;
    for (std::uint32_t s = 0; s < 4; ++s) {
        const auto accepted = r.engine->shard(s).stats().accepted.load();
        EXPECT_GT(accepted, 0u) << "shard " << s << " took no connection";
        total += accepted;
    }
    EXPECT_EQ(total, 64u);
    for (int fd : fds) close(fd);
}

TEST(Engine, RefusesConnectionsOverTheLimit) {
    EngineConfig config = small_config(1);
    config.connections_per_shard_max = 3;
    Running r(config);
    std::vector<int> fds;
    for (int i = 0; i < 3; ++i) {
        fds.push_back(connect_local(r.port));
        ASSERT_TRUE(send_all(fds.back(), "a"));
        ASSERT_EQ(recv_exact(fds.back(), 1), "a");
    }
    const int extra = connect_local(r.port);
    ASSERT_GE(extra, 0);
    EXPECT_EQ(recv_exact(extra, 6), "busy\r\n");
    EXPECT_TRUE(peer_closed(extra));
    EXPECT_EQ(r.engine->shard(0).stats().refused_full.load(), 1u);
    close(extra);
    // The slot of a closed connection is reused.
    close(fds[0]);
    ASSERT_TRUE(wait_until([&] { return r.engine->shard(0).connections_live() == 2; }));
    const int again = connect_local(r.port);
    ASSERT_TRUE(send_all(again, "b"));
    EXPECT_EQ(recv_exact(again, 1), "b");
    close(again);
    close(fds[1]);
    close(fds[2]);
}

TEST(Engine, IdleTimeoutClosesConnection) {
    EngineConfig config = small_config(1);
    config.idle_timeout_ms = 150;
    Running r(config);
    const int fd = connect_local(r.port);
    ASSERT_TRUE(send_all(fd, "ping"));
    ASSERT_EQ(recv_exact(fd, 4), "ping");
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(peer_closed(fd));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    EXPECT_TRUE(wait_until([&] { return r.engine->shard(0).stats().idle_timeouts.load() == 1; }));
    close(fd);
}

TEST(Engine, SessionTimeoutClosesBusyConnection) {
    EngineConfig config = small_config(1);
    config.session_timeout_ms = 300;
    Running r(config);
    const int fd = connect_local(r.port);
    // Activity keeps the idle timer away, but not the whole-session limit.
    bool closed = false;
    for (int i = 0; i < 100 && !closed; ++i) {
        if (!send_all(fd, "k") || recv_exact(fd, 1) != "k") closed = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(closed);
    EXPECT_EQ(r.engine->shard(0).stats().session_timeouts.load(), 1u);
    close(fd);
}

TEST(Engine, ScheduledCallbackFiresOnItsShard) {
    std::atomic<int> fired_on{-1};
    std::atomic<std::uint64_t> waited_ms{0};
    constexpr auto kick = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 1);
    Running r(small_config(2), [&](Shard& shard, Message& m) {
        if (m.kind != kick) return;
        const std::uint64_t start = shard.now_ms();
        shard.schedule(50, [&, start](Shard& s) {
            waited_ms = s.now_ms() - start;
            fired_on = static_cast<int>(s.id());
        });
    });
    Message m;
    m.kind = kick;
    ASSERT_TRUE(r.engine->control_send(1, std::move(m)).has_value());
    ASSERT_TRUE(wait_until([&] { return fired_on.load() >= 0; }));
    EXPECT_EQ(fired_on.load(), 1);
    EXPECT_GE(waited_ms.load(), 50u);
}

TEST(Engine, WatchedDescriptorWakesItsShard) {
    // A helper thread (as the store lane does) signals an eventfd; the shard runs the callback.
    const int event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(event_fd, 0);
    std::atomic<std::uint64_t> seen{0};
    std::atomic<int> ran_on{-1};
    constexpr auto arm = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 4);
    Running r(small_config(2), [&](Shard& shard, Message& m) {
        if (m.kind != arm) return;
        shard.watch_readable(event_fd, [&](Shard& s) {
            std::uint64_t n = 0;
            while (read(event_fd, &n, sizeof n) == static_cast<ssize_t>(sizeof n)) seen += n;
            ran_on = static_cast<int>(s.id());
        });
    });
    Message m;
    m.kind = arm;
    ASSERT_TRUE(r.engine->control_send(1, std::move(m)).has_value());
    std::thread helper([&] {
        for (int i = 0; i < 50; ++i) {
            const std::uint64_t one = 1;
            (void)!write(event_fd, &one, sizeof one);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    helper.join();
    EXPECT_TRUE(wait_until([&] { return seen.load() == 50; }));
    EXPECT_EQ(ran_on.load(), 1);
    r.engine->request_stop();
    r.engine->join();
    close(event_fd);
}

// Per-shard state of the layers above: built and destroyed on the shard's own thread.
struct CountingLocal final : ShardLocal {
    CountingLocal(std::atomic<int>& built, std::atomic<int>& destroyed_on_own_thread)
        : destroyed_(destroyed_on_own_thread), owner_(std::this_thread::get_id()) {
        ++built;
    }
    ~CountingLocal() override {
        if (std::this_thread::get_id() == owner_) ++destroyed_;
    }
    std::atomic<int>& destroyed_;
    std::thread::id owner_;
};

TEST(Engine, ShardLocalLivesOnItsShardThread) {
    std::atomic<int> built{0};
    std::atomic<int> destroyed{0};
    std::atomic<int> seen_by_handler{0};
    const std::thread::id test_thread = std::this_thread::get_id();
    std::vector<ListenerSpec> listeners;
    Engine engine(small_config(2), std::move(listeners), nullptr, [&](Shard& shard, Message&) {
        if (shard.local() != nullptr) ++seen_by_handler;
    });
    engine.set_shard_local([&](Shard&) -> Result<std::unique_ptr<ShardLocal>> {
        EXPECT_NE(std::this_thread::get_id(), test_thread);
        return std::unique_ptr<ShardLocal>(std::make_unique<CountingLocal>(built, destroyed));
    });
    ASSERT_FALSE(engine.bind().has_value());
    ASSERT_TRUE(engine.start().has_value());
    EXPECT_EQ(built.load(), 2);
    for (std::uint32_t s = 0; s < 2; ++s) {
        Message m;
        m.kind = MessageKind::user;
        ASSERT_TRUE(engine.control_send(s, std::move(m)).has_value());
    }
    EXPECT_TRUE(wait_until([&] { return seen_by_handler.load() == 2; }));
    engine.request_stop();
    engine.join();
    EXPECT_EQ(destroyed.load(), 2);
}

TEST(Engine, FailingShardLocalFailsStart) {
    std::vector<ListenerSpec> listeners;
    Engine engine(small_config(1), std::move(listeners), nullptr);
    engine.set_shard_local([](Shard&) -> Result<std::unique_ptr<ShardLocal>> {
        return fail(std::make_error_code(std::errc::no_space_on_device));
    });
    ASSERT_FALSE(engine.bind().has_value());
    const auto started = engine.start();
    ASSERT_FALSE(started.has_value());
    EXPECT_EQ(started.error(), std::errc::no_space_on_device);
}

TEST(Engine, CrossShardMessageRoundTrips) {
    // control -> shard 0 ("relay to shard 1") -> shard 1 answers ping with pong -> shard 0 ->
    // control: every hop through the lock-free mesh.
    constexpr auto relay = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 2);
    constexpr auto done = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 3);
    Running r(small_config(2), [&](Shard& shard, Message& m) {
        if (m.kind == relay) {
            Message ping;
            ping.kind = MessageKind::ping;
            ping.a = m.a;
            (void)shard.send_message(static_cast<std::uint32_t>(m.b), std::move(ping));
        } else if (m.kind == MessageKind::pong) {
            Message back;
            back.kind = done;
            back.a = m.a + 1;
            back.b = m.from;
            (void)shard.send_message(shard.shard_count(), std::move(back));
        }
    });
    Message m;
    m.kind = relay;
    m.a = 41;
    m.b = 1;
    ASSERT_TRUE(r.engine->control_send(0, std::move(m)).has_value());
    Mesh& mesh = r.engine->mesh();
    std::optional<Message> answer;
    ASSERT_TRUE(wait_until([&] {
        mesh.drain(mesh.control_endpoint(), [&](Message got) { answer = std::move(got); });
        return answer.has_value();
    }));
    EXPECT_EQ(answer->kind, done);
    EXPECT_EQ(answer->a, 42u);
    EXPECT_EQ(answer->from, 0u);  // sent by shard 0
    EXPECT_EQ(answer->b, 1u);     // after shard 1's pong
}

TEST(Engine, SlowReaderDoesNotGrowMemoryWithoutBound) {
    EngineConfig config = small_config(1);
    config.send_queue_bytes_max = 64 * 1024;
    Running r(config);
    const int fd = connect_local(r.port);
    ASSERT_GE(fd, 0);
    // (The client's receive buffer keeps its default size: a tiny one only adds TCP's own
    // zero-window probing delays to the drain below.)
    // Write for a while without ever reading the echo back.
    const std::string block(64 * 1024, 'z');
    std::uint64_t sent = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (std::chrono::steady_clock::now() < end) {
        const ssize_t n = ::send(fd, block.data(), block.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<std::uint64_t>(n);
        else std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const ShardStats& stats = r.engine->shard(0).stats();
    EXPECT_GT(stats.read_pauses.load(), 0u);
    // What the shard holds for this connection stays near the configured limit, while the
    // client pushed far more than that.
    const std::uint64_t held = stats.send_chunks_in_use.load() * sizeof(OutChunk);
    EXPECT_LE(held, 2 * config.send_queue_bytes_max + 2 * sizeof(OutChunk)) << "sent " << sent;
    EXPECT_GT(sent, 4 * held);
    // Once the client reads again, everything it sent comes back intact and in order.
    std::thread reader_unblocks([&] {
        const std::string back = recv_exact(fd, sent);
        EXPECT_EQ(back.size(), sent);
        EXPECT_EQ(back.find_first_not_of('z'), std::string::npos);
    });
    reader_unblocks.join();
    close(fd);
}

TEST(Engine, ConnectionChurnDoesNotPileUpTimers) {
    // Many short connections under a long idle timeout: each leaves a lazy timer entry behind,
    // which the shard must drop instead of keeping until the timeout.
    EngineConfig config = small_config(1);
    config.idle_timeout_ms = 3600 * 1000;
    Running r(config);
    for (int i = 0; i < 12000; ++i) {
        const int fd = connect_local(r.port);
        ASSERT_GE(fd, 0) << i;
        close(fd);
    }
    ASSERT_TRUE(wait_until([&] { return r.engine->shard(0).stats().closed.load() == 12000; }, 20000));
    EXPECT_LE(r.engine->shard(0).stats().timer_entries.load(), 9000u);
}

TEST(Engine, IdleConnectionsCostLittleMemory) {
    testing::raise_fd_limit();
    EngineConfig config = small_config(1);
    config.connections_per_shard_max = 3000;
    Running r(config);
    auto rss_kib = [] {
        std::ifstream status("/proc/self/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
        return 0L;
    };
    constexpr int count = 2000;
    std::vector<int> fds;
    fds.reserve(count);
    const long before = rss_kib();
    for (int i = 0; i < count; ++i) {
        const int fd = connect_local(r.port);
        ASSERT_GE(fd, 0) << i;
        fds.push_back(fd);
    }
    ASSERT_TRUE(wait_until([&] { return r.engine->shard(0).connections_live() == count; }));
    const long after = rss_kib();
    const double per_connection_bytes = static_cast<double>(after - before) * 1024.0 / count;
    EXPECT_LE(per_connection_bytes, 16.0 * 1024.0);
    EXPECT_LE(sizeof(Connection), 512u);
    for (int fd : fds) close(fd);
}

// The whole control path in a child process: SIGTERM stops accepting, lets the live session
// finish within the grace period, and the process exits 0.
TEST(Engine, SigtermDrainsAndExitsZero) {
    const std::uint16_t port = testing::pick_free_port();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        block_control_signals();
        EngineConfig config = small_config(2);
        config.grace_period_ms = 5000;
        std::vector<ListenerSpec> listeners;
        listeners.push_back({"echo", *parse_socket_address("127.0.0.1:" + std::to_string(port)), testing::echo_factory()});
        Engine engine(config, std::move(listeners), nullptr);
        if (engine.bind() || !engine.start()) _exit(3);
        ControlLoop loop(engine, nullptr);
        const int signal_number = loop.run();
        _exit(signal_number == SIGTERM ? 0 : 4);
    }
    int fd = -1;
    ASSERT_TRUE(wait_until([&] { return (fd = connect_local(port)) >= 0; }));
    ASSERT_TRUE(send_all(fd, "before"));
    ASSERT_EQ(recv_exact(fd, 6), "before");
    ASSERT_EQ(kill(child, SIGTERM), 0);
    // Listeners close promptly...
    EXPECT_TRUE(wait_until([&] {
        const int probe = connect_local(port);
        if (probe >= 0) close(probe);
        return probe < 0;
    }));
    // ...while the session in progress is still served.
    ASSERT_TRUE(send_all(fd, "during"));
    EXPECT_EQ(recv_exact(fd, 6), "during");
    close(fd);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Engine, GracePeriodEndsLingeringSessions) {
    const std::uint16_t port = testing::pick_free_port();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        block_control_signals();
        EngineConfig config = small_config(1);
        config.grace_period_ms = 200;
        std::vector<ListenerSpec> listeners;
        listeners.push_back({"echo", *parse_socket_address("127.0.0.1:" + std::to_string(port)), testing::echo_factory()});
        Engine engine(config, std::move(listeners), nullptr);
        if (engine.bind() || !engine.start()) _exit(3);
        ControlLoop loop(engine, nullptr);
        _exit(loop.run() == SIGINT ? 0 : 4);
    }
    int fd = -1;
    ASSERT_TRUE(wait_until([&] { return (fd = connect_local(port)) >= 0; }));
    ASSERT_TRUE(send_all(fd, "x"));
    ASSERT_EQ(recv_exact(fd, 1), "x");
    ASSERT_EQ(kill(child, SIGINT), 0);
    EXPECT_TRUE(peer_closed(fd));  // the idle client is cut when the grace period ends
    close(fd);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Engine, SecondBindOfTheSamePortFails) {
    Running r(small_config(1));
    std::vector<ListenerSpec> listeners;
    listeners.push_back({"smtp", *parse_socket_address("127.0.0.1:" + std::to_string(r.port)), testing::echo_factory()});
    Engine other(small_config(1), std::move(listeners), nullptr);
    const auto error = other.bind();
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->listener, "smtp");
    EXPECT_EQ(error->error, std::errc::address_in_use);
}

}  // namespace
}  // namespace vmx
