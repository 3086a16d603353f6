// Network policy matching (see pop3_policy.h).
#include "appliance/auth/login_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

namespace vmx {
namespace {

struct Ip {
    std::array<std::uint8_t, 16> bytes{};
    bool v4 = false;  // the first 4 bytes hold it
};

std::optional<Ip> parse_ip(std::string_view text) {
    if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    const std::string s(text);
    Ip ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        ip.v4 = true;
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) != 1) return std::nullopt;
    constexpr std::array<std::uint8_t, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped.begin(), mapped.end(), ip.bytes.begin())) {
        std::copy(ip.bytes.begin() + 12, ip.bytes.end(), ip.bytes.begin());
        ip.v4 = true;
    }
    return ip;
}

bool prefix_equal(const Ip& a, const Ip& b, unsigned bits) {
    for (unsigned i = 0; i < bits / 8; ++i)
        if (a.bytes[i] != b.bytes[i]) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.bytes[bits / 8] & mask) == (b.bytes[bits / 8] & mask);
}

bool in_network(const Ip& ip, std::string_view cidr) {
    const std::size_t slash = cidr.find('/');
    auto net = parse_ip(cidr.substr(0, slash));
    if (!net || net->v4 != ip.v4) return false;
    unsigned bits = ip.v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
        const std::string_view b = cidr.substr(slash + 1);
        unsigned parsed = 0;
        auto [end, ec] = std::from_chars(b.data(), b.data() + b.size(), parsed);
        if (ec != std::errc() || end != b.data() + b.size() || parsed > bits) return false;
        bits = parsed;
    }
    return prefix_equal(ip, *net, bits);
}

}  // namespace

bool address_allowed(std::string_view address, const std::vector<std::string>& networks) {
    if (networks.empty()) return true;
    const auto ip = parse_ip(address);
    if (!ip) return false;
    for (const std::string& n : networks)
        if (in_network(*ip, n)) return true;
    return false;
}

}  // namespace vmx
