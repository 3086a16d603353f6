// Organisation policy checks for POP3 logins that need no directory access: is a client address
// inside one of the organisation's allowed networks. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vmx {

// True when `networks` is empty (no restriction) or `address` (IPv4 or IPv6 text; an IPv4-mapped
// IPv6 address counts as its IPv4 address) lies in one of the CIDRs. A CIDR that does not parse
// matches nothing (fails closed).
bool address_allowed(std::string_view address, const std::vector<std::string>& networks);

}  // namespace vmx
