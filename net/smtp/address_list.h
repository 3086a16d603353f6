// RFC 5322 3.4 mailbox-list, as submission reads the From: and Sender: header fields. Pure
// function over one unfolded field value (no CR or LF); any thread. Allocates only the returned
// strings; cost linear in the value's length.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmx::smtp {

// Comments may nest (RFC 5322 3.2.2); deeper than this is an attack, not a mailer.
inline constexpr std::size_t comment_depth_max = 8;

// The addr-spec of each mailbox, in order, as "local@domain": CFWS removed, the domain in ASCII
// lower case, a quoted local part unquoted when its content is a dot-atom and otherwise kept as
// written. Nullopt when value is not a mailbox-list of 1..max mailboxes: groups (RFC 6854),
// source routes, control bytes, unbalanced quotes, brackets or comments are all refused. Bytes
// >= 0x80 count as atext and qtext (RFC 6532). Obsolete forms kept: dots in display names and
// empty list elements (RFC 5322 4.1, 4.4).
std::optional<std::vector<std::string>> parse_mailbox_list(std::string_view value, std::size_t max);

}  // namespace vmx::smtp
