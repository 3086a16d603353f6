// A real unbound on 127.0.0.1 and a free port, serving the test zone from local-data, for the
// resolver tests. Started by the test thread with posix_spawn; stopped by its pid in the destructor.
#pragma once

#include <sys/types.h>

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

// A free loopback port (UDP and TCP both unbound at the time of the call).
std::uint16_t free_loopback_port();

}  // namespace vmx::net::dns::testing
