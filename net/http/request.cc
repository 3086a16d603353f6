// The request engine (see request.h): the head through parse_request_head(), which already refuses
// bare CR and LF, NUL, obs-fold and whitespace before a colon (RFC 9112 2.2, 5.1, 5.2); then the
// framing, decided from the fields alone before any body byte is looked at; then the body. The
// defences against request smuggling are all in check_framing(): one Content-Length of digits
// only, no Transfer-Encoding, so one request's end has one reading.
#include "net/http/request.h"

#include <algorithm>

#include "core/assert.h"
#include "net/http/syntax.h"

namespace vmx::http {
namespace {

using syntax::equals_lower;
using syntax::trim_ows;

struct FieldLine {
    std::string_view name;   // as sent
    std::string_view value;  // without the OWS around it (RFC 9112 5)
};

// Takes the next field line off `fields` (a complete head after its request line, checked by
// parse_request_head(): each line is name ":" value CRLF); false at the empty line.
bool next_field(std::string_view& fields, FieldLine& out) {
    const auto lf = fields.find('\n');
    VMX_ASSERT(lf != std::string_view::npos && lf >= 1);
    const std::string_view line = fields.substr(0, lf - 1);
    fields.remove_prefix(lf + 1);
    if (line.empty()) return false;
    const auto colon = line.find(':');
    VMX_ASSERT(colon != std::string_view::npos);
    out = {line.substr(0, colon), trim_ows(line.substr(colon + 1))};
    return true;
}

std::string_view fields_of(std::string_view input, const RequestHead& head) {
    const std::string_view whole = input.substr(0, head.head_bytes);
    return whole.substr(whole.find('\n') + 1);
}

// uri-host [":" port] (RFC 9110 7.2; RFC 3986 3.2.2): reg-name, IPv4address or IP-literal bytes.
bool is_host(std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) {
        return syntax::is_alnum(c) || std::string_view("-._~!$&'()*+,;=:[]%").find(c) != std::string_view::npos;
    });
}

// What the fields say about where the request ends and whether the connection stays open.
struct Framing {
    std::size_t hosts = 0;
    bool host_invalid = false;
    bool transfer_encoding = false;
    std::size_t content_lengths = 0;
    std::string_view content_length;  // the first Content-Length field's value
    bool close = false;               // a "close" connection option (RFC 9112 9.6)
    bool keep_alive = false;          // a "keep-alive" connection option (RFC 9112 9.3)
};

// Connection = #connection-option (RFC 9110 7.6.1): a list, possibly over several fields.
void note_connection_options(std::string_view value, Framing& f) {
    for (;;) {
        const auto comma = value.find(',');
        const std::string_view option = trim_ows(value.substr(0, comma));
        f.close = f.close || equals_lower(option, "close");
        f.keep_alive = f.keep_alive || equals_lower(option, "keep-alive");
        if (comma == std::string_view::npos) return;
        value.remove_prefix(comma + 1);
    }
}

Framing read_framing(std::string_view fields) {
    Framing f;
    FieldLine line;
    while (next_field(fields, line)) {
        if (equals_lower(line.name, "host")) {
            ++f.hosts;
            f.host_invalid = f.host_invalid || !is_host(line.value);
        } else if (equals_lower(line.name, "transfer-encoding")) {
            f.transfer_encoding = true;
        } else if (equals_lower(line.name, "content-length")) {
            if (f.content_lengths == 0) f.content_length = line.value;
            ++f.content_lengths;
        } else if (equals_lower(line.name, "connection")) {
            note_connection_options(line.value, f);
        }
    }
    return f;
}

enum class Length : std::uint8_t { ok, malformed, too_large };

// Content-Length = 1*DIGIT (RFC 9110 8.6): no sign, no inner space, no list, no hex. Any number
// of digits is read without overflow: past `max` only "too large" matters.
Length parse_length(std::string_view text, std::size_t max, std::size_t& bytes) {
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Length::malformed;
    bytes = 0;
    for (const char c : text) {
        const auto digit = static_cast<std::size_t>(c - '0');
        if (bytes > max / 10) return Length::too_large;
        bytes *= 10;
        if (digit > max - bytes) return Length::too_large;
        bytes += digit;
    }
    return Length::ok;
}

// Methods whose requests carry content (RFC 9110 9.3.3, 9.3.4): without Content-Length we cannot
// tell an empty body from one sent unframed, whose bytes would be read as the next request.
bool expects_body(std::string_view method) { return method == "POST" || method == "PUT"; }

// The status that refuses the request, or 0 with `body_bytes` set: decided from the head alone.
int check_framing(const Framing& f, const RequestHead& head, std::size_t body_bytes_max, std::size_t& body_bytes) {
    // RFC 9112 3.2: HTTP/1.1 without Host, more than one Host, or an invalid one: 400.
    if (f.hosts > 1 || f.host_invalid || (f.hosts == 0 && head.version == "HTTP/1.1")) return 400;
    // RFC 9112 6.1 and 6.3: we take no transfer coding, chunked included. Refusing them all (with
    // Content-Length or without, in HTTP/1.0 too) leaves Content-Length the only framing.
    if (f.transfer_encoding) return 501;
    if (f.content_lengths == 0) {
        body_bytes = 0;  // RFC 9112 6.3 item 7
        return expects_body(head.method) ? 411 : 0;
    }
    // RFC 9110 8.6 and RFC 9112 6.3 item 5: several Content-Length fields, or a list in one, even
    // of equal values, are refused rather than merged: a peer that merges differently would
    // disagree with us on where the request ends.
    if (f.content_lengths > 1) return 400;
    switch (parse_length(f.content_length, body_bytes_max, body_bytes)) {
        case Length::ok: return 0;
        case Length::malformed: return 400;
        case Length::too_large: return 413;  // RFC 9110 15.5.14, before the body is read
    }
    return 400;
}

ParseResult refused(int status) { return {ParseStatus::error, 0, status}; }

Request build(std::string_view input, const RequestHead& head, const Framing& f, std::size_t body_bytes) {
    Request r;
    r.method = head.method;
    r.target = head.target;
    r.version = head.version;
    r.fields.reserve(head.header_fields);
    std::string_view fields = fields_of(input, head);
    FieldLine line;
    while (next_field(fields, line)) {
        std::string name(line.name);
        std::transform(name.begin(), name.end(), name.begin(), syntax::ascii_lower);
        r.fields.emplace_back(std::move(name), line.value);
    }
    r.body = input.substr(head.head_bytes, body_bytes);
    // RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only when asked with "keep-alive".
    r.keep_alive = !f.close && (head.version == "HTTP/1.1" || f.keep_alive);
    return r;
}

}  // namespace

std::optional<std::string_view> Request::field(std::string_view lower_name) const {
    const auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == lower_name; });
    if (it == fields.end()) return std::nullopt;
    return it->second;
}

std::size_t Request::count(std::string_view lower_name) const {
    return static_cast<std::size_t>(
        std::count_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == lower_name; }));
}

ParseResult parse_request(std::string_view input, const RequestLimits& limits, Request& out) {
    const RequestHead head = parse_request_head(input, limits.head);
    if (head.status == HeadStatus::incomplete) return {};
    if (head.status != HeadStatus::complete) return refused(status_code_of(head.status));
    const Framing framing = read_framing(fields_of(input, head));
    std::size_t body_bytes = 0;
    if (const int status = check_framing(framing, head, limits.body_bytes_max, body_bytes); status != 0)
        return refused(status);
    // The request ends exactly body_bytes after its head; what follows is the next request's.
    if (input.size() - head.head_bytes < body_bytes) return {};
    out = build(input, head, framing, body_bytes);
    return {ParseStatus::complete, head.head_bytes + body_bytes, 0};
}

}  // namespace vmx::http
