// A next hop written in the config ([delivery] relayhost, a [delivery.routes] value): "host",
// "host:port", "[host]:port" or "[v6]:port". The brackets only mark a literal or "no MX" as in
// Postfix; a next hop is never looked up as MX either way. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmx {

struct NextHop {
    std::string host;        // a domain (A/AAAA looked up) or an IPv4/IPv6 literal, lower case
    std::uint16_t port = 25;
    friend bool operator==(const NextHop&, const NextHop&) = default;
    std::string to_string() const;  // "host:port" or "[v6]:port"
};

// nullopt when the host is neither a domain nor an IP literal, or the port is not 1..65535.
std::optional<NextHop> parse_next_hop(std::string_view text, std::uint16_t default_port = 25);

}  // namespace vmx
