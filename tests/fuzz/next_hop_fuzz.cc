// Fuzz target: next hops as the config writes them ([delivery] relayhost, [delivery.routes] values;
// appliance/config/next_hop.h). The first byte picks the default port; the rest is the value.
// Checks: an accepted hop names a domain or an IP literal in lower case and a port 1..65535, prints
// back to text that parses to the same hop, and takes the default port only when none was written.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "appliance/config/next_hop.h"
#include "core/assert.h"
#include "core/patterns.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto default_port = static_cast<std::uint16_t>(data[0] == 0 ? 25 : data[0]);
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto hop = vmx::parse_next_hop(text, default_port);
    if (!hop) return 0;
    VMX_ASSERT(hop->port != 0);
    VMX_ASSERT(vmx::matches(vmx::Pattern::domain, hop->host) || vmx::matches(vmx::Pattern::ipv4, hop->host) ||
               vmx::matches(vmx::Pattern::ipv6, hop->host));
    for (const char c : hop->host) VMX_ASSERT(c < 'A' || c > 'Z');
    if (text.find(':') == std::string_view::npos || (text.front() == '[' && text.back() == ']'))
        VMX_ASSERT(hop->port == default_port);
    const auto again = vmx::parse_next_hop(hop->to_string(), static_cast<std::uint16_t>(default_port + 1));
    VMX_ASSERT(again.has_value() && *again == *hop);
    return 0;
}
