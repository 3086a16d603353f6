// The two non-blocking socket steps the control thread's small servers (the admin socket, the
// metrics endpoint) share: send what is pending as far as the socket takes it, and read and drop
// what a peer still sends after its answer (bounded), so that closing does not reset the
// connection under the answer. Any thread; the caller owns the descriptor.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vmx {

enum class IoStep : std::uint8_t { done, again, closed };

// Sends out[sent..]; `sent` advances. done: all sent; again: wait for writable; closed: give up.
inline IoStep send_pending(int fd, std::string_view out, std::size_t& sent) {
    while (sent < out.size()) {
        const ssize_t put = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return IoStep::again;
        if (put <= 0) return IoStep::closed;
        sent += static_cast<std::size_t>(put);
    }
    return IoStep::done;
}

// Reads and drops what is waiting; `dropped` counts it. again: nothing more for now; closed: the
// peer ended, an error, or more than bytes_max dropped in all.
inline IoStep drop_input(int fd, std::size_t& dropped, std::size_t bytes_max) {
    std::array<char, 4096> sink{};
    for (;;) {
        const ssize_t n = ::read(fd, sink.data(), sink.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return IoStep::again;
        if (n <= 0) return IoStep::closed;
        dropped += static_cast<std::size_t>(n);
        if (dropped > bytes_max) return IoStep::closed;
    }
}

}  // namespace vmx
