// EventFd: an owned, non-blocking eventfd, the doorbell between a shard and a helper thread. Any
// thread may signal(); only the waiting side clears it. Closed in the destructor; move-only.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "core/result.h"

namespace vmx::net::dns {

class EventFd {
public:
    EventFd() = default;
    ~EventFd() { if (fd_ >= 0) ::close(fd_); }
    EventFd(EventFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    EventFd& operator=(EventFd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    EventFd(const EventFd&) = delete;

    static Result<EventFd> create() {
        EventFd out;
        out.fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (out.fd_ < 0) return fail_errno(errno);
        return out;
    }
    int fd() const noexcept { return fd_; }
    // Never blocks: the counter only saturates after 2^64-2 signals nobody cleared.
    void signal() const noexcept {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t wrote = ::write(fd_, &one, sizeof one);
    }
    void clear() const noexcept {
        std::uint64_t count = 0;
        [[maybe_unused]] const ssize_t got = ::read(fd_, &count, sizeof count);  // EAGAIN: was clear
    }

private:
    int fd_ = -1;
};

}  // namespace vmx::net::dns
