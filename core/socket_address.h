// A listen or peer address (IPv4 or IPv6 with a port), parsed from "host:port" or "[v6]:port".
// Plain value; any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmx {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;

    int family() const noexcept { return storage.ss_family; }
    std::uint16_t port() const noexcept;
    std::string to_string() const;  // "127.0.0.1:25" or "[::1]:25"
    std::string host() const;       // "127.0.0.1" or "::1"
    const sockaddr* raw() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Accepts numeric addresses only ("0.0.0.0:25", "[::]:25"); names would need DNS at start-up.
Result<SocketAddress> parse_socket_address(std::string_view text);

}  // namespace vmx
