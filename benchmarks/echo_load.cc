// The echo benchmark's client threads. Each owns its connections and epoll set; the harness thread
// only connects them before the threads start and reads the counters while they run.
#include "benchmarks/echo_load.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "benchmarks/bench_threads.h"
#include "core/assert.h"

namespace vmx::bench {
namespace {

constexpr int events_per_wait_max = 256;
constexpr std::size_t read_buffer_bytes = 65536;
constexpr std::uint64_t stop_token = UINT64_MAX;

struct Peer {
    int fd = -1;
    std::uint32_t sent = 0;      // of the current message
    std::uint32_t received = 0;  // of its echo
    bool writing = false;        // EPOLLOUT in the interest set
};

Result<int> connect_loopback(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno(errno);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
        const int err = errno;
        close(fd);
        return fail_errno(err);
    }
    return fd;
}

}  // namespace

struct EchoLoad::Worker {
    std::vector<Peer> peers;
    std::string message;
    int epoll_fd = -1;
    alignas(64) std::atomic<std::uint64_t> round_trips{0};
    std::atomic<std::uint64_t> failures{0};

    ~Worker() {
        for (const Peer& p : peers)
            if (p.fd >= 0) close(p.fd);
        if (epoll_fd >= 0) close(epoll_fd);
    }

    Result<void> open(std::uint16_t port, std::uint32_t connections, std::uint32_t message_bytes, int stop_fd);
    void run();
    void send_rest(std::size_t index);
    void receive(std::size_t index, char* buffer);
    void watch(std::size_t index, std::uint32_t events, int op);
    void fail_peer(std::size_t index);
    static void bump(std::atomic<std::uint64_t>& counter) {  // single writer: no locked add needed
        counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
};

Result<void> EchoLoad::Worker::open(std::uint16_t port, std::uint32_t connections, std::uint32_t message_bytes,
                                    int stop_fd) {
    message.assign(message_bytes, 'x');
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0) return fail_errno(errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = stop_token;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev) < 0) return fail_errno(errno);
    peers.resize(connections);
    for (std::size_t i = 0; i < peers.size(); ++i) {
        auto fd = connect_loopback(port);
        if (!fd) return fail(fd.error());
        peers[i].fd = *fd;
        watch(i, EPOLLIN, EPOLL_CTL_ADD);
    }
    return {};
}

void EchoLoad::Worker::run() {
    for (std::size_t i = 0; i < peers.size(); ++i) send_rest(i);
    epoll_event events[events_per_wait_max];
    auto buffer = std::make_unique<char[]>(read_buffer_bytes);
    for (;;) {
        const int n = epoll_wait(epoll_fd, events, events_per_wait_max, -1);
        if (n < 0 && errno != EINTR) return;
        for (int e = 0; e < n; ++e) {
            if (events[e].data.u64 == stop_token) return;
            const auto index = static_cast<std::size_t>(events[e].data.u64);
            if (peers[index].fd < 0) continue;
            if (events[e].events & EPOLLOUT) send_rest(index);
            const bool readable = (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0;
            if (readable && peers[index].fd >= 0) receive(index, buffer.get());
        }
    }
}

void EchoLoad::Worker::send_rest(std::size_t index) {
    Peer& p = peers[index];
    while (p.sent < message.size()) {
        const ssize_t n = send(p.fd, message.data() + p.sent, message.size() - p.sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            if (!p.writing) watch(index, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
            return;
        }
        if (n < 0) {
            fail_peer(index);
            return;
        }
        p.sent += static_cast<std::uint32_t>(n);
    }
    if (p.writing) watch(index, EPOLLIN, EPOLL_CTL_MOD);
}

void EchoLoad::Worker::receive(std::size_t index, char* buffer) {
    Peer& p = peers[index];
    const ssize_t n = recv(p.fd, buffer, read_buffer_bytes, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || p.received + static_cast<std::size_t>(n) > message.size()) {
        fail_peer(index);  // closed, reset, or more bytes than were sent
        return;
    }
    p.received += static_cast<std::uint32_t>(n);
    if (p.received < message.size()) return;
    bump(round_trips);
    p.sent = p.received = 0;
    send_rest(index);
}

void EchoLoad::Worker::watch(std::size_t index, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = index;
    epoll_ctl(epoll_fd, op, peers[index].fd, &ev);
    peers[index].writing = (events & EPOLLOUT) != 0;
}

void EchoLoad::Worker::fail_peer(std::size_t index) {
    close(peers[index].fd);
    peers[index].fd = -1;
    bump(failures);
}

// ---------------------------------------------------------------- the load

EchoLoad::EchoLoad() = default;
EchoLoad::~EchoLoad() { stop(); }

Result<void> EchoLoad::start(const LoadSpec& spec) {
    VMX_ASSERT(workers_.empty() && spec.threads > 0 && spec.message_bytes > 0);
    stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) return fail_errno(errno);
    for (std::uint32_t t = 0; t < spec.threads; ++t) {
        const std::uint32_t share = spec.connections / spec.threads + (t < spec.connections % spec.threads ? 1 : 0);
        workers_.push_back(std::make_unique<Worker>());
        if (auto r = workers_.back()->open(spec.port, share, spec.message_bytes, stop_fd_); !r) {
            stop();
            return r;
        }
    }
    for (auto& w : workers_) {
        threads_.emplace_back([worker = w.get()] {
            pthread_setname_np(pthread_self(), "echo-client");  // tells the threads apart in perf and top
            worker->run();
        });
    }
    return {};
}

void EchoLoad::stop() {
    if (stop_fd_ >= 0) {
        const std::uint64_t one = 1;
        (void)!write(stop_fd_, &one, sizeof one);
    }
    for (auto& t : threads_) t.join();
    threads_.clear();
    workers_.clear();
    if (stop_fd_ >= 0) close(stop_fd_);
    stop_fd_ = -1;
}

std::uint64_t EchoLoad::round_trips() const {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += w->round_trips.load(std::memory_order_relaxed);
    return total;
}

std::uint64_t EchoLoad::failures() const {
    std::uint64_t total = 0;
    for (const auto& w : workers_) total += w->failures.load(std::memory_order_relaxed);
    return total;
}

std::uint64_t EchoLoad::cpu_ns() const {
    std::uint64_t total = 0;
    for (const auto& t : threads_) total += thread_cpu_ns(const_cast<std::thread&>(t));
    return total;
}

}  // namespace vmx::bench
