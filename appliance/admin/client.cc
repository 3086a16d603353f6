// The admin socket client (see admin_client.h).
#include "appliance/admin/client.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <functional>
#include <vector>

namespace vmx {
namespace {

std::error_code last_error() {
    const int e = (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
    return {e, std::generic_category()};
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

}  // namespace

namespace {

// Connects and sends the request; the socket then holds the answer. Deadlines on every read and write.
Result<void> send_request(Socket& s, const std::string& socket_path, const AdminRequest& request, int timeout_ms) {
    auto frame = encode_request(request);
    if (!frame) return fail(std::make_error_code(std::errc::message_size));
    sockaddr_un addr{};
    if (socket_path.size() >= sizeof addr.sun_path) return fail(std::make_error_code(std::errc::filename_too_long));
    if (s.fd() < 0) return fail(last_error());
    timeval tv{timeout_ms / 1000, suseconds_t{timeout_ms % 1000} * 1000};
    setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return fail(last_error());
    for (std::size_t sent = 0; sent < frame->size();) {
        const ssize_t n = ::send(s.fd(), frame->data() + sent, frame->size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            // A refused peer gets its reply before the daemon reads: fall through and read it.
            if (errno == EPIPE || errno == ECONNRESET) break;
            explicit_bzero(frame->data(), frame->size());
            return fail(last_error());
        }
        sent += static_cast<std::size_t>(n);
    }
    explicit_bzero(frame->data(), frame->size());  // it held the secret
    return {};
}

// Exactly `n` bytes into `out`; EPROTO when the daemon closes first.
Result<void> read_exactly(int fd, std::uint8_t* out, std::size_t n) {
    for (std::size_t got = 0; got < n;) {
        const ssize_t r = ::recv(fd, out + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(last_error());
        if (r == 0) return fail(std::make_error_code(std::errc::protocol_error));
        got += static_cast<std::size_t>(r);
    }
    return {};
}

}  // namespace

Result<AdminReply> admin_call(const std::string& socket_path, const AdminRequest& request, int timeout_ms) {
    Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (auto sent = send_request(s, socket_path, request, timeout_ms); !sent) return fail(sent.error());
    std::vector<std::uint8_t> in;
    std::array<std::uint8_t, 65536> buf{};
    for (;;) {
        const ssize_t n = ::recv(s.fd(), buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(last_error());
        if (n == 0) break;
        in.insert(in.end(), buf.begin(), buf.begin() + n);
        if (in.size() > admin_reply_bytes_max + 4) return fail(std::make_error_code(std::errc::protocol_error));
    }
    if (in.size() < 4) return fail(std::make_error_code(std::errc::protocol_error));
    const std::uint32_t length = frame_length(std::span<const std::uint8_t, 4>(in.data(), 4));
    if (length != in.size() - 4) return fail(std::make_error_code(std::errc::protocol_error));
    auto reply = decode_reply(std::span<const std::uint8_t>(in).subspan(4));
    if (!reply) return fail(std::make_error_code(std::errc::protocol_error));
    return std::move(*reply);
}

Result<AdminReply> admin_stream(const std::string& socket_path, const AdminRequest& request, int timeout_ms,
                                const std::function<Result<void>(std::string_view)>& on_part) {
    Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (auto sent = send_request(s, socket_path, request, timeout_ms); !sent) return fail(sent.error());
    std::vector<std::uint8_t> payload;
    for (;;) {
        std::array<std::uint8_t, 4> prefix{};
        if (auto got = read_exactly(s.fd(), prefix.data(), prefix.size()); !got) return fail(got.error());
        const std::uint32_t length = frame_length(prefix);
        if (length < 6 || length > admin_reply_bytes_max) return fail(std::make_error_code(std::errc::protocol_error));
        payload.resize(length);
        if (auto got = read_exactly(s.fd(), payload.data(), payload.size()); !got) return fail(got.error());
        auto reply = decode_reply(payload);
        if (!reply) return fail(std::make_error_code(std::errc::protocol_error));
        if (reply->status != AdminStatus::part) return std::move(*reply);
        if (auto taken = on_part(reply->text); !taken) return fail(taken.error());
    }
}

}  // namespace vmx
