// Percent-encoding, forms, targets and cookies (see form.h). Each reader is bounded by its input:
// a decoded text is never longer than what it came from, and parse_form() counts its pairs before
// it decodes any of them.
#include "net/http/form.h"

#include <algorithm>

#include "net/http/syntax.h"

namespace vmx::http {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(char c) { return syntax::is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

bool is_visible_ascii(char c) { return c > 0x20 && c < 0x7F; }

bool is_control(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
}

// cookie-octet (RFC 6265 4.1.1): visible ASCII but DQUOTE, comma, semicolon and backslash.
bool is_cookie_octet(char c) { return is_visible_ascii(c) && c != '"' && c != ',' && c != ';' && c != '\\'; }

bool contains_encoded_slash(std::string_view raw_path) {
    for (std::size_t i = 0; i + 2 < raw_path.size(); ++i)
        if (raw_path[i] == '%' && raw_path[i + 1] == '2' && (raw_path[i + 2] == 'f' || raw_path[i + 2] == 'F'))
            return true;
    return false;
}

// A decoded path names one file under the portal's root and no other site: see split_target().
bool is_safe_path(std::string_view path) {
    if (std::any_of(path.begin(), path.end(), [](char c) { return is_control(c) || c == '\\'; })) return false;
    if (path.find("//") != std::string_view::npos) return false;
    std::string_view rest = path.substr(1);  // after the leading '/'
    for (;;) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        if (segment == "." || segment == "..") return false;  // RFC 3986 5.2.4 would remove them
        if (slash == std::string_view::npos) return true;
        rest.remove_prefix(slash + 1);
    }
}

// One "name=value" of a form, decoded, or nullopt.
std::optional<std::pair<std::string, std::string>> parse_pair(std::string_view pair, std::size_t value_bytes_max) {
    const auto eq = pair.find('=');
    if (eq == 0 || eq == std::string_view::npos) return std::nullopt;
    auto name = percent_decode(pair.substr(0, eq), PlusMode::space);
    auto value = percent_decode(pair.substr(eq + 1), PlusMode::space);
    if (!name || !value || name->size() > value_bytes_max || value->size() > value_bytes_max) return std::nullopt;
    return std::pair{std::move(*name), std::move(*value)};
}

// One cookie-pair, or nullopt when malformed (RFC 6265 4.1.1).
std::optional<std::pair<std::string_view, std::string_view>> parse_cookie(std::string_view pair) {
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || !syntax::is_token(pair.substr(0, eq))) return std::nullopt;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (!std::all_of(value.begin(), value.end(), is_cookie_octet)) return std::nullopt;
    return std::pair{pair.substr(0, eq), value};
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, PlusMode plus) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) return std::nullopt;
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else {
            out.push_back(c == '+' && plus == PlusMode::space ? ' ' : c);
        }
    }
    return out;
}

std::string percent_encode(std::string_view text) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (is_unreserved(c)) {
            out.push_back(c);
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        out.push_back('%');
        out.push_back(hex[u >> 4]);
        out.push_back(hex[u & 0xF]);
    }
    return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body,
                                                                           std::size_t fields_max,
                                                                           std::size_t value_bytes_max) {
    std::vector<std::pair<std::string, std::string>> out;
    if (body.empty()) return out;
    const auto pairs = static_cast<std::size_t>(std::count(body.begin(), body.end(), '&')) + 1;
    if (pairs > fields_max) return std::nullopt;
    out.reserve(pairs);
    for (;;) {
        const auto amp = body.find('&');
        auto pair = parse_pair(body.substr(0, amp), value_bytes_max);
        if (!pair) return std::nullopt;
        out.push_back(std::move(*pair));
        if (amp == std::string_view::npos) return out;
        body.remove_prefix(amp + 1);
    }
}

std::optional<Target> split_target(std::string_view target) {
    // origin-form = absolute-path [ "?" query ] (RFC 9112 3.2.1); no fragment is ever sent (3.2).
    if (!target.starts_with('/') || !std::all_of(target.begin(), target.end(), is_visible_ascii) ||
        target.find('#') != std::string_view::npos)
        return std::nullopt;
    const auto question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    // %2F would make one segment two for whoever decodes the path again.
    if (contains_encoded_slash(raw_path)) return std::nullopt;
    auto path = percent_decode(raw_path, PlusMode::literal);
    if (!path || !is_safe_path(*path)) return std::nullopt;
    Target out;
    out.path = std::move(*path);
    if (question != std::string_view::npos) out.query = target.substr(question + 1);
    return out;
}

std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view value,
                                                                         std::size_t cookies_max) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    while (!value.empty() && out.size() < cookies_max) {
        const auto semicolon = value.find(';');
        if (auto cookie = parse_cookie(syntax::trim_ows(value.substr(0, semicolon)))) out.push_back(*cookie);
        if (semicolon == std::string_view::npos) break;
        value.remove_prefix(semicolon + 1);
    }
    return out;
}

}  // namespace vmx::http
