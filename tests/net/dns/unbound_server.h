// A real unbound on 127.0.0.1 and a free port, serving the test zone from local-data, for the
// resolver tests. Started by the test thread with posix_spawn; stopped by its pid in the destructor.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

namespace vmx::net::dns::testing {

class UnboundServer {
public:
    // nullptr (and a message in `error`) when unbound is missing or does not come up in time.
    static std::unique_ptr<UnboundServer> start(std::string& error);
    ~UnboundServer();
    std::uint16_t port() const noexcept { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

private:
    UnboundServer() = default;
    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// A UDP socket on loopback that never answers: a DNS server that has gone silent.
struct SilentServer {
    SilentServer() {
        fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~SilentServer() { ::close(fd); }
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
    int fd = -1;
    std::uint16_t port = 0;
};

// A free loopback port (UDP and TCP both unbound at the time of the call).
std::uint16_t free_loopback_port();

}  // namespace vmx::net::dns::testing
