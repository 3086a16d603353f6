// Fuzz target: the named input patterns (core/patterns.h) that every protocol parser and the
// directory rely on. The input is checked against every pattern. Checks: validate() agrees with
// matches(); nothing longer than a pattern's limit matches; IPv4 and IPv6 texts match exactly
// when the C library's inet_pton() reads them (the addresses are parsed again by it later); a CIDR
// has its address, a prefix in range and no host bits; a domain is LDH labels of 1..63 bytes; an
// address is a local part, "@" and a domain; is_valid_utf8() agrees with a plain decoder.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/patterns.h"

namespace {

using vmx::Pattern;
using vmx::matches;

bool pton(int family, std::string_view text) {
    unsigned char out[16];
    return inet_pton(family, std::string(text).c_str(), out) == 1;
}

// RFC 3629: shortest form, no surrogates, at most U+10FFFF.
bool reference_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? b : b & (0xff >> (n + 1));
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xc0) != 0x80) return false;
            cp = cp << 6 | (c & 0x3f);
        }
        const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

bool ldh_labels(std::string_view d) {
    if (d.ends_with('.')) d.remove_suffix(1);
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = std::min(d.find('.', start), d.size());
        const std::string_view label = d.substr(start, dot - start);
        if (label.empty() || label.size() > 63) return false;
        for (const char c : label)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
        if (dot == d.size()) return true;
        start = dot + 1;
    }
}

void check_cidr(std::string_view text, int family, unsigned bits) {
    const std::size_t slash = text.find('/');
    VMX_ASSERT(pton(family, text.substr(0, slash)));
    if (slash == std::string_view::npos) return;
    unsigned char addr[16];
    VMX_ASSERT(inet_pton(family, std::string(text.substr(0, slash)).c_str(), addr) == 1);
    const unsigned prefix = static_cast<unsigned>(std::stoul(std::string(text.substr(slash + 1))));
    VMX_ASSERT(prefix <= bits);
    for (unsigned bit = prefix; bit < bits; ++bit) VMX_ASSERT((addr[bit / 8] & (0x80u >> (bit % 8))) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (std::size_t p = 0; p < vmx::pattern_count; ++p) {
        const auto pattern = static_cast<Pattern>(p);
        const bool ok = matches(pattern, text);
        VMX_ASSERT(vmx::validate(pattern, text).has_value() == ok);
        if (ok) VMX_ASSERT(!text.empty() && text.size() <= vmx::pattern_bytes_max(pattern));
    }
    if (text.find('\0') == std::string_view::npos) {
        VMX_ASSERT(matches(Pattern::ipv4, text) == pton(AF_INET, text));
        if (text.size() <= vmx::pattern_bytes_max(Pattern::ipv6))
            VMX_ASSERT(matches(Pattern::ipv6, text) == pton(AF_INET6, text));
        if (matches(Pattern::ipv4_cidr, text)) check_cidr(text, AF_INET, 32);
        if (matches(Pattern::ipv6_cidr, text)) check_cidr(text, AF_INET6, 128);
    }
    if (matches(Pattern::domain, text)) VMX_ASSERT(text.size() <= 253 && ldh_labels(text));
    if (matches(Pattern::address, text)) {
        const std::size_t at = text.rfind('@');
        VMX_ASSERT(at != std::string_view::npos && matches(Pattern::local_part, text.substr(0, at)) &&
                   matches(Pattern::domain, text.substr(at + 1)));
    }
    if (matches(Pattern::helo_name, text))
        VMX_ASSERT(matches(Pattern::domain, text) || matches(Pattern::address_literal, text));
    VMX_ASSERT(vmx::is_valid_utf8(text) == reference_utf8(text));
    if (vmx::is_ascii(text)) VMX_ASSERT(vmx::is_valid_utf8(text));
    return 0;
}
