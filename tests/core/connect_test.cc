// Outbound connections (Shard::connect): a shard connects to a loopback server and talks to it; a
// refused connect and one that never completes end in on_connect_failed() then on_close().
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "core/engine.h"
#include "tests/support/echo_service.h"
#include "tests/support/test_net.h"

namespace vmx {
namespace {

using testing::wait_until;

constexpr auto kick = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 7);

// What the outbound service saw, read by the test thread under the lock.
struct Seen {
    std::mutex lock;
    std::string received;
    std::error_code failure;
    int opened = 0;
    int failed = 0;
    int closed = 0;
    bool context_kept = false;
};

struct Tag final : ConnectionContext {
    int value = 42;
};

class Talker final : public Service {
public:
    explicit Talker(Seen& seen) : seen_(seen) {}
    void on_open(Connection& c) override {
        std::lock_guard guard(seen_.lock);
        ++seen_.opened;
        auto* tag = dynamic_cast<Tag*>(c.context());
        seen_.context_kept = tag && tag->value == 42;
        (void)c.send("ping\r\n");
    }
    void on_data(Connection& c, std::string_view bytes) override {
        std::lock_guard guard(seen_.lock);
        seen_.received.append(bytes);
        if (seen_.received.size() >= 6) c.close(CloseMode::after_flush);
    }
    void on_connect_failed(Connection&, std::error_code error) override {
        std::lock_guard guard(seen_.lock);
        ++seen_.failed;
        seen_.failure = error;
    }
    void on_close(Connection&) override {
        std::lock_guard guard(seen_.lock);
        ++seen_.closed;
    }

private:
    Seen& seen_;
};

EngineConfig one_shard() {
    EngineConfig c;
    c.shards = 1;
    c.recv_buffers = 64;
    c.ring_entries = 256;
    c.pin_threads = false;
    return c;
}

// An engine with an echo listener and the Talker as its outbound service; a `kick` message with
// `a` = port and `b` = timeout ms makes the shard connect to 127.0.0.1:port.
struct Outbound {
    Outbound() : echo_port(testing::pick_free_port()) {
        std::vector<ListenerSpec> listeners;
        listeners.push_back({"echo", *parse_socket_address("127.0.0.1:" + std::to_string(echo_port)), testing::echo_factory()});
        engine = std::make_unique<Engine>(one_shard(), std::move(listeners), nullptr, [this](Shard& shard, Message& m) {
            if (m.kind != kick) return;
            auto to = parse_socket_address("127.0.0.1:" + std::to_string(m.a));
            auto id = shard.connect(service, *to, m.b, std::make_unique<Tag>());
            if (!id) connect_refused_at_once = true;
        });
        engine->set_shard_local([this](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
            service = shard.add_service(std::make_unique<Talker>(seen));
            return std::unique_ptr<ShardLocal>();
        });
        EXPECT_FALSE(engine->bind().has_value());
        EXPECT_TRUE(engine->start().has_value());
    }
    ~Outbound() {
        engine->request_stop();
        engine->join();
    }
    // Connects, then waits for the connection's last call (on_close).
    bool connect_and_wait(std::uint16_t port, std::uint64_t timeout_ms) {
        connect_to(port, timeout_ms);
        return wait_until([&] {
            std::lock_guard guard(seen.lock);
            return seen.closed == 1;
        });
    }
    void connect_to(std::uint16_t port, std::uint64_t timeout_ms) {
        Message m;
        m.kind = kick;
        m.a = port;
        m.b = timeout_ms;
        ASSERT_TRUE(engine->control_send(0, std::move(m)).has_value());
    }
    std::uint16_t echo_port;
    Seen seen;
    std::uint32_t service = 0;
    std::atomic<bool> connect_refused_at_once{false};
    std::unique_ptr<Engine> engine;
};

TEST(ShardConnect, TalksToAServer) {
    Outbound o;
    ASSERT_TRUE(o.connect_and_wait(o.echo_port, 2000));
    std::lock_guard guard(o.seen.lock);
    EXPECT_EQ(o.seen.opened, 1);
    EXPECT_TRUE(o.seen.context_kept);
    EXPECT_EQ(o.seen.received, "ping\r\n");
    EXPECT_EQ(o.seen.failed, 0);
    EXPECT_EQ(o.engine->shard(0).stats().connected.load(), 1u);
}

TEST(ShardConnect, RefusedConnectFailsThenCloses) {
    Outbound o;
    const std::uint16_t closed_port = testing::pick_free_port();  // nothing listens there
    ASSERT_TRUE(o.connect_and_wait(closed_port, 2000));
    std::lock_guard guard(o.seen.lock);
    EXPECT_EQ(o.seen.opened, 0);
    EXPECT_EQ(o.seen.failed, 1);
    EXPECT_EQ(o.seen.failure, std::error_code(ECONNREFUSED, std::system_category()));
    EXPECT_EQ(o.engine->shard(0).stats().connect_failures.load(), 1u);
    EXPECT_EQ(o.engine->shard(0).connections_live(), 0u);
}

TEST(ShardConnect, ConnectThatNeverCompletesTimesOut) {
    // A listener whose accept queue is full and never drained: the kernel drops further SYNs, so
    // the connect neither succeeds nor fails until our timeout.
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(server, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    ASSERT_EQ(::listen(server, 0), 0);
    const std::uint16_t port = ntohs(addr.sin_port);
    std::vector<int> fillers;
    for (int i = 0; i < 2; ++i) {  // non-blocking: the second one hangs in SYN_SENT too
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fillers.push_back(fd);
    }
    usleep(50'000);

    Outbound o;
    ASSERT_TRUE(o.connect_and_wait(port, 300));
    {
        std::lock_guard guard(o.seen.lock);
        EXPECT_EQ(o.seen.opened, 0);
        EXPECT_EQ(o.seen.failed, 1);
        EXPECT_EQ(o.seen.failure, std::error_code(ETIMEDOUT, std::system_category()));
    }
    for (int fd : fillers)
        if (fd >= 0) ::close(fd);
    ::close(server);
}

}  // namespace
}  // namespace vmx
