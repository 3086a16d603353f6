// The Prometheus endpoint (see metrics_server.h).
#include "appliance/ops/metrics_server.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "appliance/ops/exposition.h"
#include "core/clock.h"
#include "core/socket_io.h"
#include "core/log.h"
#include "core/socket_address.h"

namespace vmx {
namespace {

constexpr int backlog = 64;

std::string_view reason_of(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

HttpAnswer error_answer(int status) {
    const std::string body = fmt::format("{} {}\n", status, reason_of(status));
    const std::string_view allow = status == 405 ? "Allow: GET, HEAD\r\n" : "";
    return {status, fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
                                "{}Connection: close\r\n\r\n{}",
                                status, reason_of(status), body.size(), allow, body)};
}

// "/metrics", with or without a query (Prometheus may add `params`), is the only resource.
bool is_metrics_path(std::string_view target) {
    const auto query = target.find('?');
    return target.substr(0, query) == "/metrics";
}

Result<int> listen_on(const SocketAddress& address) {
    const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail_errno(errno);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // a restart rebinds at once
    if (::bind(fd, address.raw(), address.length) != 0 || ::listen(fd, backlog) != 0) {
        const int saved = errno;
        ::close(fd);
        return fail_errno(saved);
    }
    return fd;
}

}  // namespace

HttpAnswer metrics_response(const http::RequestHead& head, const MetricsServer::Render& render) {
    if (head.status != http::HeadStatus::complete) return error_answer(http::status_code_of(head.status));
    const bool get = head.method == "GET";
    if (!get && head.method != "HEAD") return error_answer(405);
    if (!is_metrics_path(head.target)) return error_answer(404);
    const std::string body = render();
    return {200, fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
                             "Connection: close\r\n\r\n{}",
                             exposition_content_type, body.size(), get ? std::string_view(body) : std::string_view())};
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::open(const std::string& address, Render render,
                                                           MetricsServerOptions options) {
    auto parsed = parse_socket_address(address);
    if (!parsed) return fail(parsed.error());
    auto fd = listen_on(*parsed);
    if (!fd) return fail(fd.error());
    const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) {
        const int saved = errno;
        ::close(*fd);
        return fail_errno(saved);
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    std::uint16_t port = parsed->port();
    if (::getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
        SocketAddress a;
        a.storage = bound;
        a.length = length;
        port = a.port();
    }
    std::unique_ptr<MetricsServer> server(new MetricsServer(*fd, epoll_fd, port, std::move(render), options));
    server->watch(0, *fd, EPOLLIN, true);
    return server;
}

MetricsServer::~MetricsServer() {
    for (auto& [id, c] : conns_) ::close(c.fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (fd_ >= 0) ::close(fd_);
}

void MetricsServer::watch(std::uint64_t id, int fd, std::uint32_t events, bool first) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

void MetricsServer::close_conn(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    ::close(it->second.fd);  // also leaves the epoll set
    conns_.erase(it);
}

void MetricsServer::on_readable() {
    std::array<epoll_event, 32> events{};
    for (;;) {
        const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
            if (id == 0) accept_all();
            else on_event(id);
        }
        if (n < static_cast<int>(events.size())) return;
    }
}

void MetricsServer::accept_all() {
    for (;;) {
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) return;  // EAGAIN: every waiting scraper is in
        if (conns_.size() >= options_.connections_max) {
            stats_.refused_connections.fetch_add(1, std::memory_order_relaxed);
            ::close(client);
            continue;
        }
        const std::uint64_t id = next_id_++;
        Conn& c = conns_[id];
        c.fd = client;
        c.since_ms = monotonic_ms();
        watch(id, client, EPOLLIN, true);
    }
}

void MetricsServer::on_event(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    switch (c.phase) {
        case Phase::reading: return read_request(id, c);
        case Phase::writing: return write_answer(id, c);
        case Phase::draining: return drain(id, c);
    }
}

// Reads no more than the head may hold; answers as soon as the head is whole or refused.
void MetricsServer::read_request(std::uint64_t id, Conn& c) {
    std::array<char, 4096> buf{};
    for (;;) {
        const std::size_t room = options_.head.head_bytes_max + 1 - c.in.size();
        const ssize_t n = ::read(c.fd, buf.data(), std::min(room, buf.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return close_conn(id);  // the scraper left before its request was whole
        c.in.append(buf.data(), static_cast<std::size_t>(n));
        const http::RequestHead head = http::parse_request_head(c.in, options_.head);
        if (head.status == http::HeadStatus::incomplete) continue;
        HttpAnswer a = metrics_response(head, render_);
        (a.status == 200 ? stats_.scrapes : stats_.refused_requests).fetch_add(1, std::memory_order_relaxed);
        return answer(id, c, std::move(a.text));
    }
}

void MetricsServer::answer(std::uint64_t id, Conn& c, std::string response) {
    c.in = {};
    c.out = std::move(response);
    c.sent = 0;
    c.phase = Phase::writing;
    c.since_ms = monotonic_ms();
    write_answer(id, c);
}

void MetricsServer::write_answer(std::uint64_t id, Conn& c) {
    const IoStep step = send_pending(c.fd, c.out, c.sent);
    if (step == IoStep::again) return watch(id, c.fd, EPOLLOUT, false);
    if (step == IoStep::closed) return close_conn(id);
    // The peer may still be sending (a body, the rest of an oversized head): read and drop a
    // bounded amount before closing, or the close would reset the connection under the answer.
    ::shutdown(c.fd, SHUT_WR);
    c.out = {};
    c.phase = Phase::draining;
    c.since_ms = monotonic_ms();
    watch(id, c.fd, EPOLLIN, false);
    drain(id, c);
}

void MetricsServer::drain(std::uint64_t id, Conn& c) {
    if (drop_input(c.fd, c.drained, options_.head.head_bytes_max) == IoStep::closed) close_conn(id);
}

void MetricsServer::expire(std::uint64_t now_ms) {
    std::vector<std::uint64_t> late;
    for (const auto& [id, c] : conns_)
        if (now_ms - c.since_ms > options_.io_timeout_ms) late.push_back(id);
    for (std::uint64_t id : late) {
        if (conns_[id].phase != Phase::draining) stats_.timed_out.fetch_add(1, std::memory_order_relaxed);
        close_conn(id);
    }
}

}  // namespace vmx
