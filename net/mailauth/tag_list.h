// RFC 6376 3.2 tag=value lists, the syntax of DKIM key records and DMARC records (RFC 7489 6.3), as
// read from DNS. Pure functions; any thread; cost linear in the text, no allocation but the result.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace vmx::mailauth {

struct Tag {
    std::string_view name;   // ALPHA *(ALPHA / DIGIT / "_")
    std::string_view value;  // without the whitespace around it; may be empty
};

inline constexpr std::size_t tags_max = 64;  // a DMARC record has 11 defined tags, a key record 6

// The tags in order. Nullopt on a syntax error, a duplicate tag name (3.2: "MUST NOT occur"), a
// control byte other than whitespace, or more than `max` tags. A trailing ";" is allowed.
std::optional<std::vector<Tag>> parse_tag_list(std::string_view text, std::size_t max = tags_max);

// RFC 7489 6.6.3: a DMARC record is a tag-list whose first tag is v=DMARC1.
bool is_dmarc_record(std::string_view text);

}  // namespace vmx::mailauth
