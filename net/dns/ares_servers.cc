// c-ares set-up shared by the resolver thread and the workers' blocking lookups (see ares_servers.h).
#include "net/dns/ares_servers.h"

#include <cstring>
#include <mutex>

#include "core/socket_address.h"
#include "net/errc.h"

namespace vmx::net::dns {

// On Linux it only sets up allocators, so it runs once and is never undone.
bool library_ready() {
    static std::once_flag once;
    static int status = ARES_SUCCESS;
    std::call_once(once, [] { status = ares_library_init(ARES_LIB_INIT_ALL); });
    return status == ARES_SUCCESS;
}

Result<std::vector<ares_addr_port_node>> parse_servers(const std::vector<std::string>& servers) {
    std::vector<ares_addr_port_node> nodes(servers.size());
    for (std::size_t i = 0; i < servers.size(); ++i) {
        auto address = parse_socket_address(servers[i]);
        if (!address) return fail(NetErrc::dns_bad_server);
        ares_addr_port_node& node = nodes[i];
        node.family = address->family();
        if (node.family == AF_INET)
            std::memcpy(&node.addr.addr4, &reinterpret_cast<const sockaddr_in*>(address->raw())->sin_addr, 4);
        else
            std::memcpy(&node.addr.addr6, &reinterpret_cast<const sockaddr_in6*>(address->raw())->sin6_addr, 16);
        node.udp_port = node.tcp_port = address->port();
    }
    return nodes;  // linked by the caller, once the vector no longer moves
}


Result<void> use_servers(ares_channel channel, const std::vector<std::string>& servers) {
    auto nodes = parse_servers(servers);
    if (!nodes) return fail(nodes.error());
    if (nodes->empty()) return {};
    for (std::size_t i = 0; i + 1 < nodes->size(); ++i) (*nodes)[i].next = &(*nodes)[i + 1];
    if (ares_set_servers_ports(channel, nodes->data()) != ARES_SUCCESS) return fail(NetErrc::dns_setup_failed);
    return {};
}

}  // namespace vmx::net::dns
