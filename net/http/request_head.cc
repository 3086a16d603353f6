// The HTTP/1.x request head parser (see request_head.h). Strict where RFC 9112 allows a choice: a
// line ends with CRLF only (2.2), obsolete line folding is refused (5.2), whitespace between a
// field name and its colon is refused (5.1), and no empty line may precede the request line.
#include "net/http/request_head.h"

namespace vmx::http {
namespace {

constexpr std::string_view crlf = "\r\n";

// tchar (RFC 9110 5.6.2).
bool is_tchar(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

// A request target: visible ASCII only (RFC 9112 3.2; RFC 3986 has no spaces or controls).
bool is_target(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7F) return false;
    }
    return true;
}

// field-value characters: VCHAR, SP, HTAB and obs-text (RFC 9110 5.5); never CR, LF or NUL.
bool is_field_value(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u == '\t') continue;
        if (u < 0x20 || u == 0x7F) return false;
    }
    return true;
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
    // The request line, whole or not, within its limit.
    const auto line_end = input.find(crlf);
    const std::size_t line_bytes = line_end == std::string_view::npos ? input.size() : line_end;
    if (line_bytes > limits.request_line_bytes_max) return failed(HeadStatus::uri_too_long);
    if (line_end == std::string_view::npos) {
        // A bare LF or CR already seen can never become a valid request line.
        if (input.find('\n') != std::string_view::npos) return failed(HeadStatus::bad_request);
        if (input.size() > limits.head_bytes_max) return failed(HeadStatus::fields_too_large);
        return out;
    }
    if (const HeadStatus s = parse_request_line(input.substr(0, line_end), out); s != HeadStatus::complete)
        return failed(s);
    // The fields, one per line, until the empty line.
    std::size_t pos = line_end + crlf.size();
    for (;;) {
        const auto end = input.find(crlf, pos);
        if (end == std::string_view::npos) {
            if (input.find('\n', pos) != std::string_view::npos) return failed(HeadStatus::bad_request);
            if (input.size() > limits.head_bytes_max) return failed(HeadStatus::fields_too_large);
            return RequestHead{};  // incomplete
        }
        if (end + crlf.size() > limits.head_bytes_max) return failed(HeadStatus::fields_too_large);
        const std::string_view line = input.substr(pos, end - pos);
        pos = end + crlf.size();
        if (line.empty()) break;
        if (++out.header_fields > limits.header_fields_max) return failed(HeadStatus::fields_too_large);
        if (!is_field_line(line)) return failed(HeadStatus::bad_request);  // obs-fold starts with SP: no token
    }
    out.status = HeadStatus::complete;
    out.head_bytes = pos;
    return out;
}

}  // namespace vmx::http
