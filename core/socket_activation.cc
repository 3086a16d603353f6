#include "core/socket_activation.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace vmx {
namespace {

constexpr int first_passed_fd = 3;  // SD_LISTEN_FDS_START
constexpr unsigned passed_fds_max = 64;

bool parse_unsigned(const char* text, unsigned long& out) {
    if (text == nullptr) return false;
    const std::string_view s(text);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

std::vector<InheritedSocket> take_inherited_sockets() {
    std::vector<InheritedSocket> out;
    unsigned long pid = 0;
    unsigned long count = 0;
    const bool ours = parse_unsigned(std::getenv("LISTEN_PID"), pid) && pid == static_cast<unsigned long>(getpid()) &&
                      parse_unsigned(std::getenv("LISTEN_FDS"), count) && count <= passed_fds_max;
    const char* names_text = std::getenv("LISTEN_FDNAMES");
    const std::string names = names_text != nullptr ? names_text : "";
    if (ours) {
        std::size_t at = 0;
        for (unsigned long i = 0; i < count; ++i) {
            const std::size_t colon = names.find(':', at);
            std::string name = at <= names.size() ? names.substr(at, colon - at) : std::string();
            at = colon == std::string::npos ? names.size() + 1 : colon + 1;
            const int fd = first_passed_fd + static_cast<int>(i);
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
            out.push_back(InheritedSocket{fd, name.empty() ? "unknown" : std::move(name)});
        }
    }
    // Called once at start-up, before any thread exists, so the environment is not shared yet.
    unsetenv("LISTEN_PID");      // NOLINT(concurrency-mt-unsafe)
    unsetenv("LISTEN_FDS");      // NOLINT(concurrency-mt-unsafe)
    unsetenv("LISTEN_FDNAMES");  // NOLINT(concurrency-mt-unsafe)
    return out;
}

Result<void> check_inherited_listener(int fd, const SocketAddress& expected, std::string& bound_to) {
    int type = 0;
    int listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return fail_errno(errno);
    len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) return fail_errno(errno);
    if (type != SOCK_STREAM || listening == 0) return fail_errno(ENOTSOCK);
    SocketAddress local;
    local.length = sizeof local.storage;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local.storage), &local.length) != 0) return fail_errno(errno);
    bound_to = local.to_string();
    if (bound_to != expected.to_string()) return fail_errno(EADDRNOTAVAIL);
    // As open_listener_socket: accepted sockets inherit TCP_NODELAY.
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) return fail_errno(errno);
    return {};
}

}  // namespace vmx
