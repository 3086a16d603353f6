// WorkerOutbox<Done>: results that helper threads (the auth and mail-authentication workers) hand to
// one consumer thread (a shard, or the control thread): a locked vector and an eventfd the consumer
// watches in its loop, so the consumer never waits on the workers. post() from any thread; fd() and
// drain() on the consumer's thread only. A burst of posts costs the consumer one wake-up.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "core/log.h"

namespace vmx {

template <class Done>
class WorkerOutbox {
public:
    WorkerOutbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    ~WorkerOutbox() {
        if (fd_ >= 0) ::close(fd_);
    }
    WorkerOutbox(const WorkerOutbox&) = delete;
    WorkerOutbox& operator=(const WorkerOutbox&) = delete;

    bool valid() const noexcept { return fd_ >= 0; }  // false: no eventfd (descriptors exhausted)
    int fd() const noexcept { return fd_; }

    void post(Done done) {
        {
            std::lock_guard lock(mutex_);
            results_.push_back(std::move(done));
        }
        const std::uint64_t one = 1;
        if (::write(fd_, &one, sizeof one) != static_cast<ssize_t>(sizeof one))
            log_event(LogLevel::warn, "worker.wake_failed", "fd={}", fd_);  // counter at its max: already readable
    }

    // Clears the eventfd, then hands every waiting result to fn(Done&&).
    template <class Fn>
    void drain(Fn&& fn) {
        std::uint64_t count = 0;
        (void)!::read(fd_, &count, sizeof count);
        std::vector<Done> results;
        {
            std::lock_guard lock(mutex_);
            results.swap(results_);
        }
        for (auto& r : results) fn(std::move(r));
    }

private:
    int fd_ = -1;
    std::mutex mutex_;
    std::vector<Done> results_;
};

}  // namespace vmx
