// Values that DNS answers carry from the resolver's thread to the shard and into the MX plan.
// Plain values; any thread. A later TLSA lookup adds its record type here beside MxRecord.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/socket_address.h"

namespace vmx::net::dns {

// What the DNS said about a name and type. temp_failure covers SERVFAIL, REFUSED, timeouts and
// malformed answers (the answer's reason says which): the caller tries again later.
enum class DnsStatus : std::uint8_t { ok, nodata, nxdomain, temp_failure };
const char* to_string(DnsStatus status) noexcept;

struct MxRecord {
    std::uint16_t preference = 0;
    std::string host;  // as the answer wrote it, without the trailing dot; "." for the root (null MX)
};

enum class AddressFamily : std::uint8_t { ipv4, ipv6 };

struct IpAddress {
    AddressFamily family = AddressFamily::ipv4;
    std::array<std::uint8_t, 16> bytes{};  // network order; the first 4 for IPv4

    SocketAddress with_port(std::uint16_t port) const;
    std::string to_string() const;  // "192.0.2.1" or "2001:db8::1"
    bool operator==(const IpAddress&) const = default;
};

}  // namespace vmx::net::dns
