// The metrics endpoint: the HTTP answers to good and hostile request heads, and the server on a
// loopback socket, driven by hand as the control loop would (never blocking on a scraper).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "appliance/ops/metrics_server.h"
#include "core/clock.h"

namespace vmx {
namespace {

std::string render() { return "vaultmx_up 1\n"; }

HttpAnswer answer_to(std::string_view request) {
    return metrics_response(http::parse_request_head(request, http::HeadLimits{}), render);
}

TEST(MetricsResponse, GetAndHead) {
    const HttpAnswer get = answer_to("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(get.status, 200);
    EXPECT_TRUE(get.text.starts_with("HTTP/1.1 200 OK\r\n"));
    EXPECT_NE(get.text.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
    EXPECT_NE(get.text.find("Content-Length: 13\r\n"), std::string::npos);
    EXPECT_NE(get.text.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(get.text.ends_with("\r\n\r\nvaultmx_up 1\n"));
    const HttpAnswer head = answer_to("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
    EXPECT_EQ(head.status, 200);
    EXPECT_TRUE(head.text.ends_with("\r\n\r\n"));
    EXPECT_NE(head.text.find("Content-Length: 13\r\n"), std::string::npos);
}

TEST(MetricsResponse, Refusals) {
    EXPECT_EQ(answer_to("POST /metrics HTTP/1.1\r\n\r\n").status, 405);
    EXPECT_NE(answer_to("DELETE /metrics HTTP/1.1\r\n\r\n").text.find("Allow: GET, HEAD\r\n"), std::string::npos);
    EXPECT_EQ(answer_to("GET / HTTP/1.1\r\n\r\n").status, 404);
    EXPECT_EQ(answer_to("GET /metricsx HTTP/1.1\r\n\r\n").status, 404);
    EXPECT_EQ(answer_to("GET http://x/metrics HTTP/1.1\r\n\r\n").status, 404);
    EXPECT_EQ(answer_to("garbage\r\n\r\n").status, 400);
    EXPECT_EQ(answer_to("GET /metrics HTTP/2.0\r\n\r\n").status, 505);
    EXPECT_EQ(answer_to("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\n\r\n").status, 414);
    const HttpAnswer bad = answer_to("GET /metrics HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n");
    EXPECT_EQ(bad.status, 431);
    EXPECT_TRUE(bad.text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
    EXPECT_EQ(bad.text.find("vaultmx_up"), std::string::npos);
}

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    return fd;
}

// Serves until the peer sees the end of the answer; returns what it read.
std::string exchange(MetricsServer& server, int fd, std::string_view request) {
    EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    std::string got;
    std::array<char, 4096> buf{};
    for (int i = 0; i < 200; ++i) {
        server.on_readable();
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n == 0) break;
        if (n > 0) got.append(buf.data(), static_cast<std::size_t>(n));
        else ::usleep(2000);
    }
    return got;
}

std::unique_ptr<MetricsServer> open_server(MetricsServerOptions options = {}) {
    auto server = MetricsServer::open("127.0.0.1:0", render, options);
    EXPECT_TRUE(server.has_value());
    return server ? std::move(*server) : nullptr;
}

TEST(MetricsServer, ServesAScrapeAndCountsIt) {
    auto server = open_server();
    ASSERT_TRUE(server);
    const int fd = connect_to(server->port());
    const std::string got = exchange(*server, fd, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ::close(fd);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
    EXPECT_TRUE(got.ends_with("vaultmx_up 1\n")) << got;
    EXPECT_EQ(server->stats().scrapes.load(), 1U);
}

TEST(MetricsServer, RefusesAPostWithABody) {
    auto server = open_server();
    ASSERT_TRUE(server);
    const int fd = connect_to(server->port());
    const std::string got = exchange(*server, fd, "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    ::close(fd);
    EXPECT_TRUE(got.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << got;
    EXPECT_EQ(server->stats().refused_requests.load(), 1U);
}

TEST(MetricsServer, CutsASlowScraperAtItsDeadline) {
    MetricsServerOptions options;
    options.io_timeout_ms = 50;
    auto server = open_server(options);
    ASSERT_TRUE(server);
    const int fd = connect_to(server->port());
    ASSERT_EQ(::write(fd, "GET /metr", 9), 9);
    for (int i = 0; i < 20 && server->connections() == 0; ++i) {
        server->on_readable();
        ::usleep(1000);
    }
    EXPECT_EQ(server->connections(), 1U);
    server->expire(monotonic_ms() + 1000);
    EXPECT_EQ(server->connections(), 0U);
    EXPECT_EQ(server->stats().timed_out.load(), 1U);
    std::array<char, 16> buf{};
    EXPECT_LE(::recv(fd, buf.data(), buf.size(), 0), 0);  // closed, nothing answered
    ::close(fd);
}

TEST(MetricsServer, RefusesConnectionsOverTheCap) {
    MetricsServerOptions options;
    options.connections_max = 1;
    auto server = open_server(options);
    ASSERT_TRUE(server);
    const int first = connect_to(server->port());
    const int second = connect_to(server->port());
    for (int i = 0; i < 20 && server->stats().refused_connections.load() == 0; ++i) {
        server->on_readable();
        ::usleep(1000);
    }
    EXPECT_EQ(server->connections(), 1U);
    EXPECT_EQ(server->stats().refused_connections.load(), 1U);
    ::close(first);
    ::close(second);
}

}  // namespace
}  // namespace vmx
