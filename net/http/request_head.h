// The head of an HTTP/1.x request (RFC 9112 2-5): request line and header fields, parsed from the
// bytes received so far, within limits. Pure: bytes in, a result out; no I/O, no allocation beyond
// the views it returns (they point into the caller's bytes). Any thread. The metrics endpoint
// reads only the method, the target and the version; header fields are checked for syntax and
// counted, never kept (a scrape needs none of them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vmx::http {

struct HeadLimits {
    std::size_t request_line_bytes_max = 1024;  // method, target and version, without CRLF
    std::size_t head_bytes_max = 8192;          // request line and every field, CRLFs included
    std::size_t header_fields_max = 32;
};

enum class HeadStatus : std::uint8_t {
    incomplete,       // no empty line yet and no limit passed: read more
    complete,         // method, target and version are set; `head_bytes` is the head's length
    bad_request,      // 400: malformed syntax (RFC 9112 2.2, 3, 5)
    uri_too_long,     // 414: the request line is over its limit (RFC 9112 3)
    fields_too_large, // 431: the head is over its byte limit, or has too many fields (RFC 6585 5)
    bad_version,      // 505: not HTTP/1.0 or HTTP/1.1
};

struct RequestHead {
    HeadStatus status = HeadStatus::incomplete;
    std::string_view method;   // a token (RFC 9110 5.6.2), case-sensitive
    std::string_view target;   // origin-form or asterisk/absolute forms, as sent
    std::string_view version;  // "HTTP/1.0" or "HTTP/1.1"
    std::size_t head_bytes = 0;
    std::size_t header_fields = 0;
};

// Parses `input` (everything received so far on the connection). A head that has not ended
// returns `incomplete` only while it is still within every limit, so a caller that stops reading
// at head_bytes_max never holds more than that. A verdict other than `incomplete` never changes
// when more bytes follow: the answer does not depend on how the bytes were split into reads. A
// request line longer than head_bytes_max - 2 is 414, whatever request_line_bytes_max says.
RequestHead parse_request_head(std::string_view input, const HeadLimits& limits);

// The HTTP status code of a failed parse (400, 414, 431, 505), 0 for incomplete and complete.
int status_code_of(HeadStatus status);

}  // namespace vmx::http
