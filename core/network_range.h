// Networks in CIDR notation ("192.0.2.0/24", "2001:db8::/32", or one address alone) and whether a
// peer address falls inside one. An IPv4 peer seen as an IPv4-mapped IPv6 address (::ffff:a.b.c.d)
// matches the IPv4 ranges. Plain values; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/socket_address.h"

namespace vmx {

struct NetworkRange {
    int family = 0;                    // AF_INET or AF_INET6
    std::array<std::uint8_t, 16> bytes{};  // the network's address (4 bytes used for IPv4), host bits zero
    std::uint8_t prefix = 0;           // bits that must match: 0..32 or 0..128
};

// Numeric only; a prefix longer than the family allows, or host bits set ("10.0.0.1/8"), is refused
// so that a typo cannot silently widen or narrow what an admin meant.
std::optional<NetworkRange> parse_network(std::string_view text);

// The address of a peer as bytes: 4 for IPv4 (also when mapped in IPv6), 16 for IPv6.
bool network_contains(const NetworkRange& range, const SocketAddress& address) noexcept;

class NetworkList {
public:
    NetworkList() = default;
    explicit NetworkList(std::vector<NetworkRange> ranges) : ranges_(std::move(ranges)) {}
    // Texts already checked (the config loader refuses a bad one); one that does not parse is skipped.
    static NetworkList parse(const std::vector<std::string>& texts);

    bool contains(const SocketAddress& address) const noexcept;
    // The same for an address in text ("192.0.2.1", "2001:db8::1"); false when it does not parse.
    bool contains_host(std::string_view host) const;
    bool empty() const noexcept { return ranges_.empty(); }

private:
    std::vector<NetworkRange> ranges_;
};

}  // namespace vmx
