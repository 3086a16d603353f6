#include "core/engine.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <cerrno>
#include <future>

#include "core/listener_socket.h"
#include "core/log.h"
#include "core/log_sink.h"

namespace vmx {
namespace {

constexpr std::size_t shard_log_queue_records = 4096;

// A second daemon on the same port would silently share it through SO_REUSEPORT; a plain bind
// first (no REUSEPORT) sees any socket already there and makes the collision a start-up error.
Result<void> probe_port_free(const SocketAddress& address) {
    const int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno(errno);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (address.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    const int rc = ::bind(fd, address.raw(), address.length);
    const int err = errno;
    close(fd);
    if (rc < 0) return fail_errno(err);
    return {};
}

}  // namespace

std::uint32_t default_shard_count() noexcept {
    // The CPUs this process may run on (a cpuset or taskset may allow fewer than are online).
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0)
        return static_cast<std::uint32_t>(CPU_COUNT(&allowed));
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<std::uint32_t>(n) : 1u;
}

Engine::Engine(EngineConfig config, std::vector<ListenerSpec> listeners, LogSink* sink, MessageHandler on_message)
    : config_(std::move(config)), listeners_(std::move(listeners)), sink_(sink), on_message_(std::move(on_message)) {
    if (config_.shards == 0) config_.shards = default_shard_count();
    mesh_ = std::make_unique<Mesh>(config_.shards, config_.inbox_capacity);
    exit_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    VMX_ASSERT(exit_fd_ >= 0);
}

Engine::~Engine() {
    if (!threads_.empty()) {
        request_stop();
        join();
    }
    for (auto& fds : listen_fds_)
        for (int fd : fds)
            if (fd >= 0) close(fd);
    close(exit_fd_);
}

void Engine::adopt(std::size_t index, int fd) {
    VMX_ASSERT(listen_fds_.empty() && index < listeners_.size());
    adopted_.resize(listeners_.size(), -1);
    adopted_[index] = fd;
}

std::optional<BindError> Engine::bind() {
    VMX_ASSERT(listen_fds_.empty());
    adopted_.resize(listeners_.size(), -1);
    for (std::size_t l = 0; l < listeners_.size(); ++l) {
        if (adopted_[l] >= 0) continue;
        if (auto r = probe_port_free(listeners_[l].address); !r)
            return BindError{listeners_[l].name, listeners_[l].address.to_string(), r.error()};
    }
    listen_fds_.assign(config_.shards, std::vector<int>(listeners_.size(), -1));
    for (std::uint32_t s = 0; s < config_.shards; ++s) {
        for (std::size_t l = 0; l < listeners_.size(); ++l) {
            if (adopted_[l] >= 0) {
                const int fd = s == 0 ? adopted_[l] : fcntl(adopted_[l], F_DUPFD_CLOEXEC, 0);
                if (fd < 0) return BindError{listeners_[l].name, listeners_[l].address.to_string(),
                                             std::error_code(errno, std::system_category())};
                listen_fds_[s][l] = fd;
                continue;
            }
            auto fd = open_listener_socket(listeners_[l].address);
            if (!fd) return BindError{listeners_[l].name, listeners_[l].address.to_string(), fd.error()};
            listen_fds_[s][l] = *fd;
        }
    }
    return std::nullopt;
}

Result<void> Engine::start() {
    VMX_ASSERT(threads_.empty());
    if (listen_fds_.empty()) listen_fds_.assign(config_.shards, std::vector<int>(listeners_.size(), -1));
    for (std::uint32_t s = 0; s < config_.shards; ++s) {
        LogQueue* queue = sink_ ? sink_->make_queue(shard_log_queue_records) : nullptr;
        // The shard takes ownership of its listening sockets.
        shards_.push_back(std::make_unique<Shard>(s, config_, *mesh_, std::move(listen_fds_[s]), listeners_,
                                                  on_message_, queue));
        listen_fds_[s].clear();
        shards_.back()->set_local_factory(shard_local_);
    }
    std::vector<std::promise<Result<void>>> ready(config_.shards);
    running_.store(config_.shards, std::memory_order_release);
    for (std::uint32_t s = 0; s < config_.shards; ++s) {
        threads_.emplace_back([this, s, &ready] {
            // Signals belong to the control thread; shard threads never take them.
            sigset_t all;
            sigfillset(&all);
            pthread_sigmask(SIG_BLOCK, &all, nullptr);
            const std::string name = "vmx-shard-" + std::to_string(s);
            pthread_setname_np(pthread_self(), name.c_str());
            Shard& shard = *shards_[s];
            auto r = shard.setup();
            const bool ok = r.has_value();
            ready[s].set_value(std::move(r));  // `ready` lives until start() has read every value
            if (ok) shard.loop();
            running_.fetch_sub(1, std::memory_order_acq_rel);
            const std::uint64_t one = 1;
            (void)!write(exit_fd_, &one, sizeof one);
        });
    }
    Result<void> first_error;
    for (auto& p : ready) {
        auto r = p.get_future().get();
        if (!r && first_error) first_error = r;
    }
    if (!first_error) {
        request_stop();
        join();
    }
    return first_error;
}

void Engine::request_stop() {
    stop_requested_ = true;
    for (std::uint32_t s = 0; s < config_.shards; ++s) {
        Message m;
        m.kind = MessageKind::stop;
        // The stop must get through: retry while the shard's inbox from us is full.
        while (!control_send(s, std::move(m))) {
            m = Message{};
            m.kind = MessageKind::stop;
            usleep(1000);
        }
    }
}

std::uint64_t Engine::shard_cpu_ns() const {
    std::uint64_t total = 0;
    for (const auto& t : threads_) {
        clockid_t clock{};
        timespec ts{};
        if (pthread_getcpuclockid(const_cast<std::thread&>(t).native_handle(), &clock) == 0 &&
            clock_gettime(clock, &ts) == 0)
            total += static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
    }
    return total;
}

void Engine::join() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

}  // namespace vmx
