// Named input patterns: one table shared by the protocol parsers (SMTP, POP3) and the directory
// (the admin CLI validates organisations, domains, users with it). Pure functions over immutable
// tables; any thread. Every check is hand-written, bounded by the pattern's length limit and runs
// in one pass: no regex, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "core/result.h"

namespace vmx {

enum class Pattern : std::uint8_t {
    domain,                // RFC 5321/1035 LDH labels (IDNA A-labels are LDH), <= 253, labels <= 63
    domain_utf8,           // as domain, labels may also be UTF-8 U-labels (only under SMTPUTF8)
    local_part,            // RFC 5321 dot-string, <= 64: the only form a local user may have
    local_part_smtp,       // dot-string or quoted-string: SMTP syntax for remote senders only
    local_part_utf8,       // dot-string whose atoms may hold UTF-8 (RFC 6531)
    address,               // local_part "@" domain, <= 254
    mailbox_address_utf8,  // local_part_utf8 "@" domain_utf8, <= 254 (RFC 6531)
    address_literal,       // "[" IPv4 "]" or "[IPv6:" IPv6 "]" (RFC 5321 4.1.3)
    helo_name,             // an EHLO/HELO argument: domain or address literal
    org_name,              // letters, digits, space, - _ . ; 1..64; no leading or trailing space
    label,                 // an app-password label: [A-Za-z0-9 _.-], 1..32
    plan_name,             // [a-z][a-z0-9_-]*, 1..32
    ipv4,                  // dotted quad, no leading zeros
    ipv6,                  // RFC 4291 text form, "::" once at most, optional trailing IPv4
    ipv4_cidr,             // ipv4 with optional "/0..32"; host bits must be zero
    ipv6_cidr,             // ipv6 with optional "/0..128"; host bits must be zero
    esmtp_keyword,         // RFC 5321 4.1.2: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp_value,           // RFC 5321 4.1.2: 1*(%d33-60 / %d62-126)
    dkim_selector,         // [a-z0-9-]{1,63}, not starting with "-": one DNS label (RFC 6376 3.1),
                           // lower case so that it is one secret name, whatever case DNS ignores
};
inline constexpr std::size_t pattern_count = 19;

// True when text is a complete, valid instance of the pattern (within its length limit).
bool matches(Pattern pattern, std::string_view text) noexcept;
// The same check as an error value: pattern_category(), value = pattern + 1, message
// "invalid <name>", so the error names what was expected.
Result<void> validate(Pattern pattern, std::string_view text);
// The name used in error messages ("address", "domain", ...).
std::string_view pattern_name(Pattern pattern) noexcept;
std::size_t pattern_bytes_max(Pattern pattern) noexcept;
const std::error_category& pattern_category() noexcept;

// Building blocks the protocol parsers use directly.
bool is_valid_utf8(std::string_view text) noexcept;  // shortest form, no surrogates, <= U+10FFFF
bool is_ascii(std::string_view text) noexcept;
bool is_atext(char c) noexcept;                       // RFC 5322 atext, ASCII only

}  // namespace vmx
