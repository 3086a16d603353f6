#include "core/control_loop.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "core/log_sink.h"

namespace vmx {
namespace {

constexpr int tick_ms = 100;  // how often logs are written out when nothing else wakes us

sigset_t control_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

void drain_eventfd(int fd) {
    std::uint64_t value = 0;
    while (read(fd, &value, sizeof value) > 0) {
    }
}

}  // namespace

void block_control_signals() {
    const sigset_t set = control_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    const auto previous = signal(SIGPIPE, SIG_IGN);
    VMX_ASSERT(previous != SIG_ERR);  // only an invalid signal number fails
}

ControlLoop::ControlLoop(Engine& engine, LogSink* sink) : engine_(engine), sink_(sink) {
    const sigset_t set = control_signals();
    signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    VMX_ASSERT(signal_fd_ >= 0);
}

ControlLoop::~ControlLoop() { close(signal_fd_); }

void ControlLoop::watch(int fd, std::function<void()> on_readable) { watched_.emplace_back(fd, std::move(on_readable)); }

void ControlLoop::stop() {
    if (stopping_) return;
    stopping_ = true;
    log_event(LogLevel::info, "engine.stopping", "signal={} shards={}", stop_signal_, engine_.shard_count());
    engine_.request_stop();
}

void ControlLoop::drain_messages() {
    engine_.mesh().drain(engine_.mesh().control_endpoint(), [this](Message m) {
        if (on_message_) on_message_(m);
    });
}

int ControlLoop::run() {
    const int mesh_fd = engine_.mesh().wake_fd(engine_.mesh().control_endpoint());
    std::vector<pollfd> fds;
    while (!engine_.stopped()) {
        fds.clear();
        fds.push_back({signal_fd_, POLLIN, 0});
        fds.push_back({mesh_fd, POLLIN, 0});
        fds.push_back({engine_.exit_fd(), POLLIN, 0});
        for (const auto& w : watched_) fds.push_back({w.first, POLLIN, 0});
        const int n = poll(fds.data(), fds.size(), tick_ms);
        if (n < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo info{};
            while (read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
                if (info.ssi_signo == SIGHUP) {
                    if (on_reload_ && !stopping_) on_reload_();
                    continue;
                }
                if (!stop_signal_) stop_signal_ = static_cast<int>(info.ssi_signo);
                stop();
            }
        }
        if (fds[1].revents & POLLIN) drain_eventfd(mesh_fd);
        drain_messages();
        if (fds[2].revents & POLLIN) drain_eventfd(engine_.exit_fd());
        for (std::size_t i = 0; i < watched_.size(); ++i)
            if (fds[3 + i].revents & (POLLIN | POLLHUP | POLLERR)) watched_[i].second();
        if (on_tick_) on_tick_();
        if (sink_) sink_->drain();
    }
    engine_.join();
    drain_messages();
    log_event(LogLevel::info, "engine.stopped", "signal={}", stop_signal_);
    if (sink_) sink_->drain();
    return stop_signal_;
}

}  // namespace vmx
