// The HTTP/1.1 server-side request engine of the self-service portal: one whole request (its head
// and a bounded body) from the bytes received on a connection. Pure: bytes in, a result out; no
// I/O, clock or logging; any thread. Invariants: where a request ends is decided by Content-Length
// alone (Transfer-Encoding is refused, a request body is never read until close), so no two
// readers of the same bytes can disagree on where the next request starts; while a request is
// incomplete, the input is within head.head_bytes_max + body_bytes_max.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/request_head.h"

namespace vmx::http {

struct RequestLimits {
    HeadLimits head{};                   // the request line (414), the head's bytes and fields (431)
    std::size_t body_bytes_max = 65536;  // a Content-Length above this: 413, before the body arrives
};

struct Request {
    std::string method;   // a token, case-sensitive (RFC 9110 9.1): the caller answers 501 or 405
    std::string target;   // as sent: split_target() (net/http/form.h) takes the origin-form apart
    std::string version;  // "HTTP/1.0" or "HTTP/1.1"
    std::vector<std::pair<std::string, std::string>> fields;  // names lower-cased, values without OWS, in order
    std::string body;     // exactly Content-Length bytes
    bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive"

    std::optional<std::string_view> field(std::string_view lower_name) const;  // the first value
    std::size_t count(std::string_view lower_name) const;
};

enum class ParseStatus : std::uint8_t { incomplete, complete, error };

struct ParseResult {
    ParseStatus status = ParseStatus::incomplete;
    std::size_t consumed = 0;  // complete: this request's bytes (head and body); the rest is the next one
    int error_status = 0;      // error: 400, 411, 413, 414, 431, 501 or 505, answered before closing
};

// Parses one request from the start of `input` (everything received and not yet consumed). `out`
// is assigned only when the request is complete. Incomplete means: read more, within
// head_bytes_max + body_bytes_max. A verdict, once reached, never changes when more bytes follow,
// so it does not depend on how the bytes were split into reads. After an error the caller answers
// error_status with "Connection: close" and reads nothing more from the connection.
// Each call parses the head again: call it when new bytes arrived, not per byte of a large read.
//
// Refused (RFC 9112 unless named): a missing Host in HTTP/1.1, several Host fields or a Host that
// is no uri-host [":" port] (3.2): 400; any Transfer-Encoding (6.1): 501; several Content-Length
// fields, a list in one, or one that is not all digits (6.3, RFC 9110 8.6): 400; POST or PUT
// without Content-Length: 411 (RFC 9110 8.6 and 15.5.12: every user agent we serve sends one, even
// "0", and a body sent without it would be read as the next request).
ParseResult parse_request(std::string_view input, const RequestLimits& limits, Request& out);

}  // namespace vmx::http
