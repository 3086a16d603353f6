// Authentication-Results (RFC 8601): reading the authserv-id of a field that arrived with a message,
// removing the fields that claim ours (5: a receiver MUST remove them, or a sender could forge our
// verdict), and writing our own. Pure functions over the dot-unstuffed message; any thread. Only
// the header section is read, never more than section_bytes_max bytes, in linear time.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/mailauth/header_fields.h"

namespace vmx::mailauth {

// RFC 8601 2.2: the authserv-id is the first value of the field (a token or a quoted-string) after
// optional CFWS, with comments nested at most comment_depth_max deep. Nullopt when there is none.
inline constexpr std::size_t comment_depth_max = 8;
std::optional<std::string> authserv_id(std::string_view value);

struct Stripped {
    std::string message;      // the message without those fields (a copy only when one was removed)
    std::size_t removed = 0;  // fields removed
};

// Removes every Authentication-Results field whose authserv-id equals `id` ignoring ASCII case
// (and, as RFC 8601 5 allows, every one whose authserv-id cannot be read). A header section over
// the limits is scanned up to them: fields past them are left as they are.
Stripped strip_auth_results(std::string_view message, std::string_view id, const HeaderLimits& limits = {});

// One result of our header (RFC 8601 2.2 resinfo): "method=result (reason) ptype.property=value".
struct ResultInfo {
    std::string method;   // spf, dkim, dmarc
    std::string result;   // pass, fail, softfail, neutral, none, temperror, permerror, policy
    std::string comment;  // shown in parentheses after the result; may be empty
    std::vector<std::pair<std::string, std::string>> properties;  // {"smtp.mailfrom", "example.com"}
};

// "Authentication-Results: ID;\r\n\tRESULT;\r\n\tRESULT\r\n", or "ID; none" with no result. Values
// that are not RFC 2045 tokens are written as quoted-strings; comment text loses any parenthesis,
// backslash or control byte, so nothing a remote party chose can end the field or the comment.
std::string format_auth_results(std::string_view id, const std::vector<ResultInfo>& results);

}  // namespace vmx::mailauth
