// The admin socket server without the daemon: a peer that sends half a request or never reads its
// reply holds nothing but its own slot (the control thread never blocks on it), late peers are
// closed by expire(), a shard-waiting command is answered later or told it timed out, and peers
// past connections_max are turned away.
#include "appliance/admin/server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "appliance/admin/protocol.h"
#include "core/clock.h"
#include "tests/store/store_test_util.h"

namespace vmx {
namespace {

int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    return fd;
}

std::vector<std::uint8_t> request_frame(const std::string& command) {
    AdminRequest r;
    r.command = command;
    auto frame = encode_request(r);
    EXPECT_TRUE(frame.has_value());
    return *frame;
}

void send_bytes(int fd, const std::uint8_t* data, std::size_t n) {
    ASSERT_EQ(::send(fd, data, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
}

// The reply, once the whole frame is there; the server is served in between (one thread here plays
// both the control loop and the clients, so any blocking call in the server would hang the test).
std::optional<AdminReply> await_reply(AdminServer& server, int fd) {
    std::vector<std::uint8_t> in;
    for (int turn = 0; turn < 2000; ++turn) {
        server.on_readable();
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1) == 1) {
            std::uint8_t buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0) break;
            if (n > 0) in.insert(in.end(), buf, buf + n);
        }
        if (in.size() >= 4 && in.size() == 4 + frame_length(std::span<const std::uint8_t, 4>(in.data(), 4))) break;
    }
    if (in.size() < 4) return std::nullopt;
    return decode_reply(std::span<const std::uint8_t>(in).subspan(4));
}

bool closed_by_server(AdminServer& server, int fd) {
    for (int turn = 0; turn < 200; ++turn) {
        server.on_readable();
        std::uint8_t b;
        const ssize_t n = ::recv(fd, &b, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return true;
        ::usleep(1000);
    }
    return false;
}

struct Fixture {
    explicit Fixture(AdminServerOptions options = {}) {
        auto opened = AdminServer::open(socket_path(), [this](const AdminRequest& r, const AdminPeer&,
                                                                       AdminResponder respond) {
            if (r.command == "later") return later.push_back(std::move(respond));
            respond({AdminStatus::ok, "did " + r.command + "\n"});
        }, options);
        EXPECT_TRUE(opened);
        server = std::move(*opened);
    }
    std::string socket_path() const { return dir.path() + "/admin.sock"; }
    store::testing::TempDir dir;
    std::unique_ptr<AdminServer> server;
    std::vector<AdminResponder> later;
};

TEST(AdminServerTest, StuckPeerDoesNotDelayOthersAndIsClosedAfterItsTime) {
    Fixture f(AdminServerOptions{60'000, 30'000, 64});
    const std::string path = f.socket_path();
    // Half a length prefix, then nothing: a blocking server would wait here for a minute.
    const int stuck = connect_to(path);
    const std::uint8_t half[2] = {10, 0};
    send_bytes(stuck, half, sizeof half);
    f.server->on_readable();

    const int good = connect_to(path);
    const auto frame = request_frame("stats");
    send_bytes(good, frame.data(), frame.size());
    const auto reply = await_reply(*f.server, good);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->text, "did stats\n");
    EXPECT_EQ(f.server->connections(), 1u);  // the stuck one, still within its time

    f.server->expire(monotonic_ms() + 61'000);
    EXPECT_TRUE(closed_by_server(*f.server, stuck));
    EXPECT_EQ(f.server->connections(), 0u);
    ::close(stuck);
    ::close(good);
}

TEST(AdminServerTest, RequestArrivingByteByByteIsServed) {
    Fixture f;
    const int fd = connect_to(f.socket_path());
    const auto frame = request_frame("user list");
    for (std::uint8_t b : frame) {
        send_bytes(fd, &b, 1);
        f.server->on_readable();
    }
    const auto reply = await_reply(*f.server, fd);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->text, "did user list\n");
    ::close(fd);
}

TEST(AdminServerTest, ShardWaitingCommandIsAnsweredLaterOrToldItTimedOut) {
    Fixture f(AdminServerOptions{2000, 5000, 64});
    const std::string path = f.socket_path();
    const int first = connect_to(path);
    const int second = connect_to(path);
    const auto frame = request_frame("later");
    send_bytes(first, frame.data(), frame.size());
    send_bytes(second, frame.data(), frame.size());
    for (int i = 0; i < 50 && f.later.size() < 2; ++i) {
        f.server->on_readable();
        ::usleep(1000);
    }
    ASSERT_EQ(f.later.size(), 2u);
    EXPECT_EQ(f.server->waiting(), 2u);
    f.later[0]({AdminStatus::ok, "restored\n"});
    const auto answered = await_reply(*f.server, first);
    ASSERT_TRUE(answered);
    EXPECT_EQ(answered->text, "restored\n");

    f.server->expire(monotonic_ms() + 6000);  // the second one's shard never answered
    const auto timed_out = await_reply(*f.server, second);
    ASSERT_TRUE(timed_out);
    EXPECT_EQ(timed_out->status, AdminStatus::failed);
    f.later[1]({AdminStatus::ok, "too late\n"});  // a responder after the timeout does nothing
    EXPECT_EQ(f.server->connections(), 0u);
    ::close(first);
    ::close(second);
}

TEST(AdminServerTest, PeersPastTheLimitAreTurnedAway) {
    Fixture f(AdminServerOptions{60'000, 30'000, 2});
    const std::string path = f.socket_path();
    const int a = connect_to(path);
    const int b = connect_to(path);
    f.server->on_readable();
    const int c = connect_to(path);
    EXPECT_TRUE(closed_by_server(*f.server, c));
    EXPECT_EQ(f.server->connections(), 2u);
    ::close(a);
    ::close(b);
    ::close(c);
}

TEST(AdminServerTest, OversizedRequestIsRefusedAndReadable) {
    Fixture f;
    const int fd = connect_to(f.socket_path());
    const std::uint32_t n = admin_request_bytes_max + 1;
    const std::uint8_t prefix[4] = {static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8),
                                    static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 24)};
    send_bytes(fd, prefix, sizeof prefix);
    const std::vector<std::uint8_t> junk(1000, 'x');
    send_bytes(fd, junk.data(), junk.size());
    const auto reply = await_reply(*f.server, fd);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, AdminStatus::refused);
    ::close(fd);
}

}  // namespace
}  // namespace vmx
