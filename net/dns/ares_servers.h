// What every c-ares channel of ours shares: the one-time library set-up and the configured servers
// ("IP:PORT" each, [delivery] resolver) as c-ares takes them. Internal to net/dns; any thread.
#pragma once

#include <ares.h>

#include <string>
#include <vector>

#include "core/result.h"

namespace vmx::net::dns {

// ares_library_init, once per process (it is not thread-safe in c-ares 1.18); false if it failed.
bool library_ready();

// The nodes for ares_set_servers_ports, not yet linked (the caller links them once the vector no
// longer moves). dns_bad_server for an entry that is not a numeric "IP:PORT".
Result<std::vector<ares_addr_port_node>> parse_servers(const std::vector<std::string>& servers);

// Points `channel` at `servers` (empty: leaves resolv.conf's). dns_bad_server or dns_setup_failed.
Result<void> use_servers(ares_channel channel, const std::vector<std::string>& servers);

}  // namespace vmx::net::dns
