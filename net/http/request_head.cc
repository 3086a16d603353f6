// The HTTP/1.x request head parser (see request_head.h). Strict where RFC 9112 allows a choice: a
// line ends with CRLF only (2.2), obsolete line folding is refused (5.2), whitespace between a
// field name and its colon is refused (5.1), and no empty line may precede the request line.
// Each line ends at its first LF, so every verdict is reached at the same byte however the input
// was split into reads.
#include "net/http/request_head.h"

#include <algorithm>

#include "net/http/syntax.h"

namespace vmx::http {
namespace {

using syntax::is_field_value;
using syntax::is_token;

// A request target: visible ASCII only (RFC 9112 3.2; RFC 3986 has no spaces or controls).
bool is_target(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F) return false;
    }
    return true;
}

// The request line and its CRLF must also fit in the head, whatever the two limits say.
std::size_t request_line_limit(const HeadLimits& limits) {
    const std::size_t head_room = limits.head_bytes_max < 2 ? 0 : limits.head_bytes_max - 2;
    return std::min(limits.request_line_bytes_max, head_room);
}

RequestHead failed(HeadStatus status) {
    RequestHead out;
    out.status = status;
    return out;
}

// "HTTP/1.0" and "HTTP/1.1" are served; another HTTP-version is 505, anything else 400.
HeadStatus check_version(std::string_view v) {
    if (v == "HTTP/1.1" || v == "HTTP/1.0") return HeadStatus::complete;
    const bool shaped = v.size() == 8 && v.starts_with("HTTP/") && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
                        v[7] >= '0' && v[7] <= '9';
    return shaped ? HeadStatus::bad_version : HeadStatus::bad_request;
}

// method SP request-target SP HTTP-version, exactly one space each (RFC 9112 3).
HeadStatus parse_request_line(std::string_view line, RequestHead& out) {
    const auto first = line.find(' ');
    if (first == std::string_view::npos) return HeadStatus::bad_request;
    const auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos) return HeadStatus::bad_request;
    out.method = line.substr(0, first);
    out.target = line.substr(first + 1, second - first - 1);
    out.version = line.substr(second + 1);
    if (!is_token(out.method) || !is_target(out.target)) return HeadStatus::bad_request;
    return check_version(out.version);
}

// field-name ":" OWS field-value OWS (RFC 9112 5); the value is checked, not kept.
bool is_field_line(std::string_view line) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    return is_token(line.substr(0, colon)) && is_field_value(line.substr(colon + 1));
}

}  // namespace

int status_code_of(HeadStatus status) {
    switch (status) {
        case HeadStatus::bad_request: return 400;
        case HeadStatus::uri_too_long: return 414;
        case HeadStatus::fields_too_large: return 431;
        case HeadStatus::bad_version: return 505;
        case HeadStatus::incomplete:
        case HeadStatus::complete: return 0;
    }
    return 0;
}

RequestHead parse_request_head(std::string_view input, const HeadLimits& limits) {
    RequestHead out;
    // The request line ends at the first LF: the bytes after it cannot change the verdict on it.
    const std::size_t line_max = request_line_limit(limits);
    const auto line_lf = input.find('\n');
    if (line_lf == std::string_view::npos) {
        // A CR at the end may be the first half of the CRLF: it is not part of the line (yet).
        const std::size_t line_bytes = input.ends_with('\r') ? input.size() - 1 : input.size();
        if (line_bytes > line_max) return failed(HeadStatus::uri_too_long);
        return out;  // within line_max, so within head_bytes_max too
    }
    const std::size_t line_bytes = line_lf > 0 && input[line_lf - 1] == '\r' ? line_lf - 1 : line_lf;
    if (line_bytes > line_max) return failed(HeadStatus::uri_too_long);
    if (line_bytes == line_lf) return failed(HeadStatus::bad_request);  // a bare LF (RFC 9112 2.2)
    if (const HeadStatus s = parse_request_line(input.substr(0, line_bytes), out); s != HeadStatus::complete)
        return failed(s);
    // The fields, one per line, until the empty line.
    std::size_t pos = line_lf + 1;
    for (;;) {
        const auto lf = input.find('\n', pos);
        if (lf == std::string_view::npos) {
            if (input.size() > limits.head_bytes_max) return failed(HeadStatus::fields_too_large);
            return RequestHead{};  // incomplete
        }
        if (lf + 1 > limits.head_bytes_max) return failed(HeadStatus::fields_too_large);
        if (lf == pos || input[lf - 1] != '\r') return failed(HeadStatus::bad_request);  // a bare LF
        const std::string_view line = input.substr(pos, lf - 1 - pos);
        pos = lf + 1;
        if (line.empty()) break;
        if (++out.header_fields > limits.header_fields_max) return failed(HeadStatus::fields_too_large);
        if (!is_field_line(line)) return failed(HeadStatus::bad_request);  // obs-fold starts with SP: no token
    }
    out.status = HeadStatus::complete;
    out.head_bytes = pos;
    return out;
}

}  // namespace vmx::http
