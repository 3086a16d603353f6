// The epoll echo server of the comparison. Each worker owns its listener, its epoll set and its
// connections (indexed by fd, as C servers do); the only shared things are the stop eventfd and
// the counters the harness reads with relaxed loads.
#include "benchmarks/epoll_echo_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "benchmarks/bench_threads.h"
#include "core/listener_socket.h"
#include "core/socket_address.h"

namespace vmx::bench {
namespace {

constexpr int events_per_wait_max = 256;
constexpr std::size_t read_buffer_bytes = 16384;
constexpr std::size_t pending_output_bytes_max = 262144;  // above it, stop reading that socket

struct Client {
    std::string out;            // bytes the socket would not take yet (rare in ping-pong)
    std::size_t out_start = 0;
    bool reading = true;        // EPOLLIN in the interest set
    bool writing = false;       // EPOLLOUT in the interest set
};

}  // namespace

struct EpollEchoServer::Worker {
    int listen_fd = -1;
    int epoll_fd = -1;
    int stop_fd = -1;                          // owned by the server
    std::vector<std::unique_ptr<Client>> clients;  // by fd
    alignas(64) std::atomic<std::uint64_t> waits{0};

    ~Worker() {
        for (std::size_t fd = 0; fd < clients.size(); ++fd)
            if (clients[fd]) close(static_cast<int>(fd));
        if (epoll_fd >= 0) close(epoll_fd);
        if (listen_fd >= 0) close(listen_fd);
    }

    Result<void> open(std::uint16_t port, int stop_eventfd);
    void run();
    void accept_all();
    void serve(int fd, std::uint32_t events, char* buffer);
    bool flush(int fd, Client& c);
    void update_interest(int fd, Client& c);
    void drop(int fd);
};

Result<void> EpollEchoServer::Worker::open(std::uint16_t port, int stop_eventfd) {
    auto address = parse_socket_address("127.0.0.1:" + std::to_string(port));
    if (!address) return fail(address.error());
    auto fd = open_listener_socket(*address);
    if (!fd) return fail(fd.error());
    listen_fd = *fd;
    if (fcntl(listen_fd, F_SETFL, O_NONBLOCK) < 0) return fail_errno(errno);
    stop_fd = stop_eventfd;
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) return fail_errno(errno);
    for (const int watched : {listen_fd, stop_fd}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = watched;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, watched, &ev) < 0) return fail_errno(errno);
    }
    return {};
}

void EpollEchoServer::Worker::run() {
    epoll_event events[events_per_wait_max];
    auto buffer = std::make_unique<char[]>(read_buffer_bytes);
    for (;;) {
        const int n = epoll_wait(epoll_fd, events, events_per_wait_max, -1);
        waits.store(waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == stop_fd) return;
            if (fd == listen_fd) {
                accept_all();
            } else {
                serve(fd, events[i].events, buffer.get());
            }
        }
    }
}

void EpollEchoServer::Worker::accept_all() {
    for (;;) {
        const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN: taken them all (or EMFILE: the next wake-up retries)
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            continue;
        }
        if (clients.size() <= static_cast<std::size_t>(fd)) clients.resize(static_cast<std::size_t>(fd) + 1);
        clients[static_cast<std::size_t>(fd)] = std::make_unique<Client>();
    }
}

// One read, then one write of what was read; what the socket does not take waits for EPOLLOUT.
void EpollEchoServer::Worker::serve(int fd, std::uint32_t events, char* buffer) {
    Client& c = *clients[static_cast<std::size_t>(fd)];
    if ((events & EPOLLOUT) && !flush(fd, c)) {
        drop(fd);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || !c.reading) return;
    const ssize_t got = recv(fd, buffer, read_buffer_bytes, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        drop(fd);
        return;
    }
    if (got < 0) return;
    const auto n = static_cast<std::size_t>(got);
    if (c.out_start < c.out.size()) {
        c.out.append(buffer, n);  // keep the order: behind what is already waiting
    } else {
        const ssize_t put = send(fd, buffer, n, MSG_NOSIGNAL);
        if (put < 0 && errno != EAGAIN) {
            drop(fd);
            return;
        }
        const auto sent = static_cast<std::size_t>(std::max<ssize_t>(put, 0));
        if (sent == n) return;
        c.out.assign(buffer + sent, n - sent);
        c.out_start = 0;
    }
    update_interest(fd, c);
}

bool EpollEchoServer::Worker::flush(int fd, Client& c) {
    const ssize_t put = send(fd, c.out.data() + c.out_start, c.out.size() - c.out_start, MSG_NOSIGNAL);
    if (put < 0) return errno == EAGAIN;
    c.out_start += static_cast<std::size_t>(put);
    if (c.out_start == c.out.size()) {
        c.out.clear();
        c.out_start = 0;
    }
    update_interest(fd, c);
    return true;
}

void EpollEchoServer::Worker::update_interest(int fd, Client& c) {
    const std::size_t pending = c.out.size() - c.out_start;
    const bool reading = pending < pending_output_bytes_max;
    const bool writing = pending > 0;
    if (reading == c.reading && writing == c.writing) return;
    c.reading = reading;
    c.writing = writing;
    epoll_event ev{};
    ev.events = (reading ? EPOLLIN : 0u) | (writing ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
}

void EpollEchoServer::Worker::drop(int fd) {
    close(fd);  // also leaves the epoll set: nobody else holds the descriptor
    clients[static_cast<std::size_t>(fd)].reset();
}

// ---------------------------------------------------------------- the server

EpollEchoServer::EpollEchoServer() = default;
EpollEchoServer::~EpollEchoServer() { stop(); }

Result<void> EpollEchoServer::start(std::uint16_t port, std::uint32_t threads, PinThreads pin) {
    VMX_ASSERT(workers_.empty() && threads > 0);
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) return fail_errno(errno);
    for (std::uint32_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<Worker>());
        if (auto r = workers_.back()->open(port, stop_fd_); !r) {
            stop();
            return r;
        }
    }
    for (std::uint32_t i = 0; i < threads; ++i) {
        threads_.emplace_back([this, i, pin] {
            pthread_setname_np(pthread_self(), "epoll-echo");
            if (pin == PinThreads::yes) pin_current_thread(i);
            workers_[i]->run();
        });
    }
    return {};
}

void EpollEchoServer::stop() {
    if (stop_fd_ >= 0) {
        const std::uint64_t one = 1;
        (void)!write(stop_fd_, &one, sizeof one);  // level-triggered: every worker sees it
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
    workers_.clear();
    if (stop_fd_ >= 0) close(stop_fd_);
    stop_fd_ = -1;
}

std::uint64_t EpollEchoServer::cpu_ns() const {
    std::uint64_t total = 0;
    for (const auto& t : threads_) total += thread_cpu_ns(const_cast<std::thread&>(t));
    return total;
}

std::uint64_t EpollEchoServer::waits() const {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += w->waits.load(std::memory_order_relaxed);
    return total;
}

}  // namespace vmx::bench
