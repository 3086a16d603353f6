// Next hops as the config writes them (see next_hop.h).
#include "appliance/config/next_hop.h"

#include <fmt/format.h>

#include <charconv>

#include "core/patterns.h"

namespace vmx {

std::string NextHop::to_string() const {
    if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

std::optional<NextHop> parse_next_hop(std::string_view text, std::uint16_t default_port) {
    NextHop hop;
    hop.port = default_port;
    std::string_view host = text;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
        }
    } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        if (text.find(':') != colon) return std::nullopt;  // a bare IPv6 literal needs brackets
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (!port.empty() || (text.size() > 0 && text.back() == ':')) {
        unsigned value = 0;
        const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
        hop.port = static_cast<std::uint16_t>(value);
    }
    if (!matches(Pattern::domain, host) && !matches(Pattern::ipv4, host) && !matches(Pattern::ipv6, host))
        return std::nullopt;
    hop.host.assign(host);
    for (char& ch : hop.host)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return hop;
}

}  // namespace vmx
