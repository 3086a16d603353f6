// The small pieces of HTTP syntax (RFC 9110 5) that the request head parser, the request engine,
// the response writer and the form helpers share. Pure, header-only; any thread.
#pragma once

#include <algorithm>
#include <string_view>

namespace vmx::http::syntax {

constexpr bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// tchar (RFC 9110 5.6.2).
constexpr bool is_tchar(char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

constexpr bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// field-value bytes (RFC 9110 5.5): VCHAR, SP, HTAB and obs-text; never CR, LF, NUL or DEL.
constexpr bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7F);
    });
}

constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }

// OWS on both sides (RFC 9110 5.6.3).
constexpr std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Field names, connection options and the like are case-insensitive (RFC 9110 5.1, 7.6.1).
constexpr bool equals_lower(std::string_view text, std::string_view lower) {
    return text.size() == lower.size() &&
           std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) { return ascii_lower(a) == b; });
}

}  // namespace vmx::http::syntax
