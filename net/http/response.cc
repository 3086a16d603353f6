// The response writer (see response.h). Assertions, not errors: every byte of a Response comes
// from the portal's own code, and one that could end a header line early would let text chosen
// by a client (echoed in a Location, say) write header fields of its own.
#include "net/http/response.h"

#include <algorithm>

#include "core/assert.h"
#include "net/http/syntax.h"

namespace vmx::http {
namespace {

using syntax::equals_lower;

// Fields serialize() writes itself: one from the caller would frame the message twice.
bool is_ours(std::string_view name) {
    return equals_lower(name, "content-length") || equals_lower(name, "transfer-encoding") ||
           equals_lower(name, "connection");
}

// RFC 9110 8.6: no Content-Length in a 204; a 304's would be the selected representation's.
bool has_no_content(int status) { return status == 204 || status == 304; }

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
}

}  // namespace

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 200: return "OK";
        case 204: return "No Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 411: return "Length Required";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 503: return "Service Unavailable";
        case 505: return "HTTP Version Not Supported";
        default: return "";
    }
}

namespace {

std::string head_of(const Response& r, std::uint64_t content_bytes, ConnectionMode connection, std::size_t reserve) {
    VMX_ASSERT(r.status >= 200 && r.status <= 599);
    VMX_ASSERT(!has_no_content(r.status) || content_bytes == 0);
    std::string out;
    out.reserve(128 + reserve);
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4)
    out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason_phrase(r.status)).append("\r\n");
    for (const auto& field : r.headers) {
        VMX_ASSERT(syntax::is_token(field.first) && syntax::is_field_value(field.second) && !is_ours(field.first));
        append_field(out, field.first, field.second);
    }
    if (!has_no_content(r.status)) append_field(out, "Content-Length", std::to_string(content_bytes));
    append_field(out, "Connection", connection == ConnectionMode::close ? "close" : "keep-alive");
    out.append("\r\n");
    return out;
}

}  // namespace

std::string serialize(const Response& r, BodyMode body, ConnectionMode connection) {
    std::string out = head_of(r, r.body.size(), connection, r.body.size());
    if (body == BodyMode::with_body) out.append(r.body);
    return out;
}

std::string serialize_head(const Response& r, std::uint64_t content_bytes, ConnectionMode connection) {
    VMX_ASSERT(r.body.empty());
    return head_of(r, content_bytes, connection, 0);
}

}  // namespace vmx::http
