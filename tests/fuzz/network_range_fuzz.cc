// Fuzz target: network ranges as [limits] exempt_networks writes them (core/network_range.h). The
// input is the text. Checks: an accepted range has a prefix its family allows and no host bits;
// written back as address/prefix it parses to the same range; its own address is inside it, an
// address that differs within the prefix is not, one that differs only past it is; whatever the
// CIDR patterns accept (the stricter reader) parses here too, but a range of IPv4-mapped addresses
// (which would match nothing); and text with a NUL never parses (it would be cut there, silently
// narrowing what the admin wrote).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/network_range.h"
#include "core/patterns.h"

namespace {

using namespace vmx;

std::string address_text(int family, const std::array<std::uint8_t, 16>& bytes) {
    char text[INET6_ADDRSTRLEN] = {};
    VMX_ASSERT(inet_ntop(family, bytes.data(), text, sizeof text) != nullptr);
    return text;
}

bool same(const NetworkRange& a, const NetworkRange& b) {
    return a.family == b.family && a.bytes == b.bytes && a.prefix == b.prefix;
}

void check_membership(const NetworkRange& range, unsigned flip_bit) {
    const unsigned width = range.family == AF_INET ? 32 : 128;
    const NetworkList list({range});
    VMX_ASSERT(list.contains_host(address_text(range.family, range.bytes)));
    std::array<std::uint8_t, 16> other = range.bytes;
    const unsigned bit = flip_bit % width;
    other[bit / 8] ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
    VMX_ASSERT(list.contains_host(address_text(range.family, other)) == (bit >= range.prefix));
}

// Inside ::ffff:0:0/96: such peers are compared as IPv4, so the range is refused.
bool mapped_range(std::string_view text) {
    const std::size_t slash = text.find('/');
    std::array<std::uint8_t, 16> bytes{};
    if (inet_pton(AF_INET6, std::string(text.substr(0, slash)).c_str(), bytes.data()) != 1) return false;
    const unsigned long prefix =
        slash == std::string_view::npos ? 128 : std::stoul(std::string(text.substr(slash + 1)));
    const std::array<std::uint8_t, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return prefix >= 96 && std::equal(mapped.begin(), mapped.end(), bytes.begin());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto range = parse_network(text);
    const bool pattern = matches(Pattern::ipv4_cidr, text) || matches(Pattern::ipv6_cidr, text);
    if (!range) {
        if (pattern) VMX_ASSERT(mapped_range(text));
        return 0;
    }
    VMX_ASSERT(text.find('\0') == std::string_view::npos);
    VMX_ASSERT(range->family == AF_INET ? range->prefix <= 32 : range->family == AF_INET6 && range->prefix <= 128);
    for (unsigned bit = range->prefix; bit < 128; ++bit)
        VMX_ASSERT((range->bytes[bit / 8] & (0x80u >> (bit % 8))) == 0);
    const std::string written = address_text(range->family, range->bytes) + "/" + std::to_string(range->prefix);
    const auto again = parse_network(written);
    VMX_ASSERT(again && same(*again, *range));
    check_membership(*range, static_cast<unsigned>(size));
    return 0;
}
