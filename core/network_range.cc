#include "core/network_range.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vmx {
namespace {

// The peer's address bytes and family, an IPv4-mapped IPv6 address counting as IPv4.
int peer_bytes(const SocketAddress& address, std::array<std::uint8_t, 16>& out) noexcept {
    if (address.family() == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&address.storage);
        std::memcpy(out.data(), &in->sin_addr, 4);
        return AF_INET;
    }
    if (address.family() == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            std::memcpy(out.data(), in6->sin6_addr.s6_addr + 12, 4);
            return AF_INET;
        }
        std::memcpy(out.data(), in6->sin6_addr.s6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

bool prefix_matches(const std::uint8_t* a, const std::uint8_t* b, unsigned bits) noexcept {
    const unsigned whole = bits / 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

// ::ffff:0:0/96, where IPv4 peers seen through an IPv6 socket live.
bool is_v4_mapped(const std::array<std::uint8_t, 16>& bytes) noexcept {
    static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(bytes.data(), mapped_prefix, sizeof mapped_prefix) == 0;
}

}  // namespace

std::optional<NetworkRange> parse_network(std::string_view text) {
    // inet_pton would stop at a NUL: "10.0.0.0\0/8" must not read as 10.0.0.0/32.
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    const std::size_t slash = text.find('/');
    const std::string host(text.substr(0, slash));
    NetworkRange range;
    unsigned width = 0;
    if (inet_pton(AF_INET, host.c_str(), range.bytes.data()) == 1) {
        range.family = AF_INET;
        width = 32;
    } else if (inet_pton(AF_INET6, host.c_str(), range.bytes.data()) == 1) {
        range.family = AF_INET6;
        width = 128;
    } else {
        return std::nullopt;
    }
    unsigned prefix = width;
    if (slash != std::string_view::npos) {
        const std::string_view digits = text.substr(slash + 1);
        if (digits.empty() || digits.size() > 3) return std::nullopt;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (ec != std::errc() || end != digits.data() + digits.size() || prefix > width) return std::nullopt;
    }
    range.prefix = static_cast<std::uint8_t>(prefix);
    // Host bits must be zero: the bytes past the prefix compare equal to a copy masked to it.
    std::array<std::uint8_t, 16> masked{};
    for (unsigned bit = 0; bit < prefix; ++bit)
        masked[bit / 8] |= static_cast<std::uint8_t>(range.bytes[bit / 8] & (0x80u >> (bit % 8)));
    if (masked != range.bytes) return std::nullopt;
    // A range inside ::ffff:0:0/96 would match nothing, since such a peer is compared as IPv4
    // (peer_bytes): refused, so that the admin writes the IPv4 range they meant.
    if (range.family == AF_INET6 && prefix >= 96 && is_v4_mapped(range.bytes)) return std::nullopt;
    return range;
}

bool network_contains(const NetworkRange& range, const SocketAddress& address) noexcept {
    std::array<std::uint8_t, 16> peer{};
    const int family = peer_bytes(address, peer);
    if (family != range.family) return false;
    return prefix_matches(peer.data(), range.bytes.data(), range.prefix);
}

NetworkList NetworkList::parse(const std::vector<std::string>& texts) {
    std::vector<NetworkRange> ranges;
    for (const std::string& text : texts)
        if (auto range = parse_network(text)) ranges.push_back(*range);
    return NetworkList(std::move(ranges));
}

bool NetworkList::contains(const SocketAddress& address) const noexcept {
    for (const NetworkRange& range : ranges_)
        if (network_contains(range, address)) return true;
    return false;
}

bool NetworkList::contains_host(std::string_view host) const {
    if (ranges_.empty()) return false;
    const bool v6 = host.find(':') != std::string_view::npos;
    auto address = parse_socket_address(v6 ? "[" + std::string(host) + "]:0" : std::string(host) + ":0");
    return address && contains(*address);
}

}  // namespace vmx
