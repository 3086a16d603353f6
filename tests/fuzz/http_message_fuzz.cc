// Fuzz target: the portal's request engine (net/http/request.h) under small limits picked by the
// first two bytes, over every pipelined request in the input; and the form, target and cookie
// readers (net/http/form.h) on the parts of each complete request and on the raw input. Checks:
// a verdict is reached at one byte, the same whether the input is read whole or grows a byte at a
// time; consumed lies within the input and an incomplete input within head and body limits; a
// complete request has the framing we promise (one Host in HTTP/1.1, no Transfer-Encoding, a body
// of exactly Content-Length bytes); forms and targets read back what percent_encode() writes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/http/form.h"
#include "net/http/request.h"
#include "net/http/syntax.h"

namespace {

using namespace vmx::http;

constexpr std::size_t form_fields_max = 8;
constexpr std::size_t form_value_bytes_max = 32;
constexpr std::size_t cookies_max = 4;
constexpr int requests_max = 8;

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool same(const ParseResult& a, const ParseResult& b) {
    return a.status == b.status && a.consumed == b.consumed && a.error_status == b.error_status;
}

bool same(const Request& a, const Request& b) {
    return a.method == b.method && a.target == b.target && a.version == b.version && a.fields == b.fields &&
           a.body == b.body && a.keep_alive == b.keep_alive;
}

bool is_refusal(int status) {
    return status == 400 || status == 411 || status == 413 || status == 414 || status == 431 || status == 501 ||
           status == 505;
}

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void check_encoding(std::string_view text) {
    const std::string encoded = percent_encode(text);
    VMX_ASSERT(percent_decode(encoded, PlusMode::space) == text && percent_decode(encoded, PlusMode::literal) == text);
    VMX_ASSERT(std::all_of(encoded.begin(), encoded.end(), [](char c) {
        return vmx::http::syntax::is_alnum(c) || std::string_view("-._~%").find(c) != std::string_view::npos;
    }));
    if (const auto decoded = percent_decode(text, PlusMode::literal)) VMX_ASSERT(decoded->size() <= text.size());
}

// An accepted form, written back with percent_encode(), reads the same.
void check_form(std::string_view text) {
    const auto form = parse_form(text, form_fields_max, form_value_bytes_max);
    if (!form) return;
    VMX_ASSERT(form->size() <= form_fields_max && (form->empty() == text.empty()));
    std::string again;
    for (const auto& [name, value] : *form) {
        VMX_ASSERT(!name.empty() && name.size() <= form_value_bytes_max && value.size() <= form_value_bytes_max);
        again.append(again.empty() ? "" : "&").append(percent_encode(name)).append("=").append(percent_encode(value));
    }
    VMX_ASSERT(parse_form(again, form_fields_max, form_value_bytes_max) == form);
}

// An accepted target's path is safe to join to a root or echo in a Location, and written back
// one segment at a time with percent_encode() it splits to the same path.
void check_target(std::string_view text) {
    const auto target = split_target(text);
    if (!target) return;
    const std::string& path = target->path;
    VMX_ASSERT(path.starts_with('/') && path.find("//") == std::string::npos && path.find('\\') == std::string::npos);
    VMX_ASSERT(std::none_of(path.begin(), path.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; }));
    VMX_ASSERT(percent_decode(text.substr(0, text.find('?')), PlusMode::literal) == path);
    VMX_ASSERT(target->query.find('#') == std::string::npos && text.ends_with(target->query));
    std::string again;
    std::string_view rest = std::string_view(path).substr(1);
    for (;;) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        VMX_ASSERT(segment != "." && segment != "..");
        again.append("/").append(percent_encode(segment));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    const auto reread = split_target(again);
    VMX_ASSERT(reread && reread->path == path && reread->query.empty());
}

void check_cookies(std::string_view text) {
    const auto cookies = parse_cookies(text, cookies_max);
    VMX_ASSERT(cookies.size() <= cookies_max);
    for (const auto& [name, value] : cookies) {
        VMX_ASSERT(vmx::http::syntax::is_token(name) && inside(name, text) && inside(value, text));
        VMX_ASSERT(value.find_first_of("\";,\\ \t") == std::string_view::npos);
    }
}

// What request.h promises of a complete request.
void check_complete(std::string_view input, const RequestLimits& limits, const ParseResult& p, const Request& r) {
    VMX_ASSERT(p.error_status == 0 && p.consumed >= 16 && r.body.size() <= limits.body_bytes_max);
    VMX_ASSERT(r.version == "HTTP/1.1" || r.version == "HTTP/1.0");
    VMX_ASSERT(vmx::http::syntax::is_token(r.method) && !r.target.empty());
    VMX_ASSERT(r.fields.size() <= limits.head.header_fields_max);
    for (const auto& [name, value] : r.fields) {
        VMX_ASSERT(vmx::http::syntax::is_token(name) && vmx::http::syntax::is_field_value(value));
        VMX_ASSERT(std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
        VMX_ASSERT(vmx::http::syntax::trim_ows(value) == value);
    }
    VMX_ASSERT(r.count("host") <= 1 && (r.version == "HTTP/1.0" || r.count("host") == 1));
    VMX_ASSERT(r.count("transfer-encoding") == 0 && r.count("content-length") <= 1);
    if (const auto length = r.field("content-length")) {
        VMX_ASSERT(is_digits(*length));
        const auto first = std::min(length->find_first_not_of('0'), length->size() - 1);
        VMX_ASSERT(length->substr(first) == std::to_string(r.body.size()));
    } else {
        VMX_ASSERT(r.body.empty() && r.method != "POST" && r.method != "PUT");
    }
    const std::size_t head_bytes = p.consumed - r.body.size();
    VMX_ASSERT(head_bytes <= limits.head.head_bytes_max && input.substr(head_bytes - 4, 4) == "\r\n\r\n");
    VMX_ASSERT(input.substr(head_bytes, r.body.size()) == r.body);
    if (!r.field("connection")) VMX_ASSERT(r.keep_alive == (r.version == "HTTP/1.1"));
}

// One request from the start of `input`: its verdict and the byte it is reached at. Returns the
// bytes consumed (0 unless complete).
std::size_t check_request(std::string_view input, const RequestLimits& limits) {
    Request r;
    const ParseResult p = parse_request(input, limits, r);
    VMX_ASSERT(p.consumed <= input.size());
    if (p.status != ParseStatus::complete) VMX_ASSERT(p.consumed == 0);
    if (p.status == ParseStatus::incomplete) VMX_ASSERT(p.error_status == 0 && input.size() <= limits.head.head_bytes_max + limits.body_bytes_max);
    if (p.status == ParseStatus::error) VMX_ASSERT(is_refusal(p.error_status));
    // Read a byte at a time, the input gets its verdict at one byte, and it is the whole input's.
    std::size_t decided = 0;
    Request part;
    ParseResult q;
    for (; decided <= input.size(); ++decided) {
        q = parse_request(input.substr(0, decided), limits, part);
        if (q.status != ParseStatus::incomplete) break;
    }
    VMX_ASSERT(same(p, q));
    if (p.status != ParseStatus::complete) return 0;
    VMX_ASSERT(decided == p.consumed && same(part, r));
    check_complete(input, limits, p, r);
    check_target(r.target);
    check_form(r.body);
    for (const auto& [name, value] : r.fields)
        if (name == "cookie") check_cookies(value);
    return p.consumed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    RequestLimits limits;
    limits.head.request_line_bytes_max = 8 + (data[0] & 0x3F);
    limits.head.head_bytes_max = limits.head.request_line_bytes_max + 2 + (data[0] >> 6) * 64;
    limits.head.header_fields_max = data[1] & 0x7;
    limits.body_bytes_max = (data[1] >> 3) * 3;
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    check_encoding(input);
    check_form(input);
    check_target(input);
    check_cookies(input);
    for (int i = 0; i < requests_max && !input.empty(); ++i) {
        const std::size_t consumed = check_request(input, limits);
        if (consumed == 0) break;
        input.remove_prefix(consumed);
    }
    return 0;
}
