// MetricsServer: the Prometheus endpoint on [metrics] listen. `GET /metrics` (and HEAD) answers the
// text exposition that `render` writes; anything else gets 400, 404, 405, 414, 431 or 505, and the
// connection is closed after every answer (HTTP/1.1 "Connection: close").
// Threads: the control thread only, like the admin socket (admin/server.h) and for the same
// reason: every socket is non-blocking and registered in the server's own epoll set, whose
// descriptor (fd()) the control loop watches, so a slow scraper costs nothing but its slot, and
// the shards' counters are read where the admin command `stats` reads them. No thread of its own:
// a scrape is rare (every 15 s or so) and small, and one more thread would be one more for the
// seccomp filter and the drain to know about.
// Limits: at most connections_max scrapes at once (more are closed at accept); each must send its
// request head within io_timeout_ms and within the head limits, and take its answer within
// io_timeout_ms more; a body is never read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "appliance/common/counters.h"
#include "core/result.h"
#include "net/http/request_head.h"

namespace vmx {

struct MetricsServerOptions {
    std::uint64_t io_timeout_ms = 5000;
    std::size_t connections_max = 16;
    http::HeadLimits head;
};

// The endpoint's own counters (relaxed atomics; listed by the endpoint itself into its exposition).
struct MetricsServerStats {
    std::atomic<std::uint64_t> scrapes{0};          // 200s
    std::atomic<std::uint64_t> refused_requests{0}; // answered 4xx/5xx
    std::atomic<std::uint64_t> refused_connections{0};  // over connections_max
    std::atomic<std::uint64_t> timed_out{0};        // cut at io_timeout_ms
    void list(CounterSnapshot& out) const {
        out.add("metrics.scrapes", scrapes);
        out.add("metrics.refused_requests", refused_requests);
        out.add("metrics.refused_connections", refused_connections);
        out.add("metrics.timed_out", timed_out);
    }
};

class MetricsServer {
public:
    using Render = std::function<std::string()>;

    // Binds and listens on `address` ("127.0.0.1:9925"); at start-up, before the privilege drop.
    static Result<std::unique_ptr<MetricsServer>> open(const std::string& address, Render render,
                                                       MetricsServerOptions options = {});
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    ~MetricsServer();

    int fd() const noexcept { return epoll_fd_; }
    // Serves whatever is ready, without blocking (the control loop calls it when fd() is readable).
    void on_readable();
    // Closes scrapes past their time (the control loop's tick).
    void expire(std::uint64_t now_ms);
    std::size_t connections() const noexcept { return conns_.size(); }
    const MetricsServerStats& stats() const noexcept { return stats_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    enum class Phase : std::uint8_t { reading, writing, draining };
    struct Conn {
        int fd = -1;
        Phase phase = Phase::reading;
        std::uint64_t since_ms = 0;
        std::string in;
        std::string out;
        std::size_t sent = 0;
        std::size_t drained = 0;
    };

    MetricsServer(int listen_fd, int epoll_fd, std::uint16_t port, Render render, MetricsServerOptions options)
        : fd_(listen_fd), epoll_fd_(epoll_fd), port_(port), render_(std::move(render)), options_(options) {}
    void accept_all();
    void on_event(std::uint64_t id);
    void read_request(std::uint64_t id, Conn& c);
    void answer(std::uint64_t id, Conn& c, std::string response);
    void write_answer(std::uint64_t id, Conn& c);
    void drain(std::uint64_t id, Conn& c);
    void watch(std::uint64_t id, int fd, std::uint32_t events, bool first);
    void close_conn(std::uint64_t id);

    int fd_ = -1;
    int epoll_fd_ = -1;
    std::uint16_t port_ = 0;
    Render render_;
    MetricsServerOptions options_;
    std::unordered_map<std::uint64_t, Conn> conns_;  // by id (the epoll event's data)
    std::uint64_t next_id_ = 1;                      // 0 stands for the listener
    MetricsServerStats stats_;
};

// The whole HTTP response to a parsed (or refused) request head, and its status code. Pure: the
// tests call it. `render` runs only for `GET /metrics` or `HEAD /metrics` (HEAD: headers only).
struct HttpAnswer {
    int status = 0;
    std::string text;
};
HttpAnswer metrics_response(const http::RequestHead& head, const MetricsServer::Render& render);

}  // namespace vmx
