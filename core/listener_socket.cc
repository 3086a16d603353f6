#include "core/listener_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace vmx {

Result<int> open_listener_socket(const SocketAddress& address, int backlog) {
    const int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno(errno);
    const int one = 1;
    auto fail_with = [fd](int err) {
        close(fd);
        return fail_errno(err);
    };
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return fail_with(errno);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) return fail_with(errno);
    if (address.family() == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        return fail_with(errno);
    // Accepted sockets inherit TCP_NODELAY: replies are small and must not wait for Nagle.
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) return fail_with(errno);
    if (bind(fd, address.raw(), address.length) < 0) return fail_with(errno);
    if (listen(fd, backlog) < 0) return fail_with(errno);
    return fd;
}

}  // namespace vmx
