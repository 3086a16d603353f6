// DnsStatus names and IpAddress conversions (see dns_types.h).
#include "net/dns/dns_types.h"

#include <arpa/inet.h>

#include <cstring>

namespace vmx::net::dns {

const char* to_string(DnsStatus status) noexcept {
    switch (status) {
        case DnsStatus::ok: return "ok";
        case DnsStatus::nodata: return "nodata";
        case DnsStatus::nxdomain: return "nxdomain";
        case DnsStatus::temp_failure: return "temp_failure";
    }
    return "unknown";
}

SocketAddress IpAddress::with_port(std::uint16_t port) const {
    SocketAddress out;
    if (family == AddressFamily::ipv4) {
        auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, bytes.data(), 4);
        out.length = sizeof(sockaddr_in);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        std::memcpy(&in6->sin6_addr, bytes.data(), 16);
        out.length = sizeof(sockaddr_in6);
    }
    return out;
}

std::string IpAddress::to_string() const { return with_port(0).host(); }

}  // namespace vmx::net::dns
