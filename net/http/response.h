// HTTP/1.1 responses of the self-service portal, written whole: the status line, the caller's
// header fields, Content-Length and Connection (always ours), then the body. Pure; any thread.
// Everything in a Response comes from our own code, so a field that could split or reframe the
// message (CR, LF, a Content-Length of its own) is a programmer error: VMX_ASSERT, on in release.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmx::http {

struct Response {
    int status = 200;  // 200 to 599: the portal sends no 1xx
    std::vector<std::pair<std::string, std::string>> headers;  // in order; tokens and field values
    std::string body;  // empty for 204 and 304
};

// The reason phrase of the common codes (RFC 9110 15), "" for others (the status line keeps its SP).
std::string_view reason_phrase(int status) noexcept;

enum class BodyMode : std::uint8_t {
    with_body,
    head_only,  // the answer to HEAD: the Content-Length of the body, no body bytes (RFC 9110 9.3.2)
};

enum class ConnectionMode : std::uint8_t {
    keep_alive,  // "Connection: keep-alive": HTTP/1.1's default, and what an HTTP/1.0 client waits for
    close,       // "Connection: close": the caller closes after sending (RFC 9112 9.6)
};

// The whole response. Content-Length is written here from the body (none for 204 and 304, RFC
// 9110 8.6), so the headers must not hold Content-Length, Transfer-Encoding or Connection. Date
// (RFC 9110 6.6.1) is the caller's: this code has no clock.
std::string serialize(const Response& r, BodyMode body, ConnectionMode connection);
// The head alone (status line, fields, the blank line) of a response whose body of content_bytes
// the caller sends after it, in pieces (a download); r.body must be empty.
std::string serialize_head(const Response& r, std::uint64_t content_bytes, ConnectionMode connection);

}  // namespace vmx::http
