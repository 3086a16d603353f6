// The header fields of a message (RFC 5322 2.2), as the checks and the signer feed them to the DKIM
// library and as Authentication-Results are found: each field's bytes with its continuation lines,
// and where the body starts. Pure function over the dot-unstuffed message; any thread; reads only
// the header section, never more than section_bytes_max bytes, in linear time.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace vmx::mailauth {

struct HeaderLimits {
    std::size_t section_bytes_max = std::size_t{256} * 1024;
    std::size_t fields_max = 1000;
};

struct HeaderField {
    std::size_t begin = 0;      // offset of the field's first byte in the message
    std::size_t end = 0;        // just past its last line break
    std::string_view name;      // without whitespace before the colon (RFC 5322 4.5)
    std::string_view value;     // after the colon, continuation lines and final line break included
    std::string_view text;      // the whole field without its final line break (what DKIM hashes)
};

struct HeaderSection {
    std::vector<HeaderField> fields;
    std::size_t body_begin = 0;  // just past the empty line; the message's size when there is none
    bool complete = false;       // false: a malformed line or a limit stopped the scan at fields.back()
};

HeaderSection header_fields(std::string_view message, const HeaderLimits& limits = {});

// ASCII case-insensitive equality, for field names.
bool same_name(std::string_view a, std::string_view b) noexcept;

}  // namespace vmx::mailauth
