// Small text helpers of the POP3 engine: case-insensitive verbs, argument splitting, numbers that
// are digits only and bounded, UIDL and control-character checks. Pure functions, any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmx::pop3 {

inline char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
    }
    return true;
}

inline bool is_control(char c) noexcept {
    const auto b = static_cast<unsigned char>(c);
    return b < 0x20 || b == 0x7f;
}

inline bool has_controls(std::string_view s) noexcept {
    for (char c : s) {
        if (is_control(c)) return true;
    }
    return false;
}

// RFC 1939 section 7: 1 to 70 characters in 0x21 to 0x7E.
inline bool valid_uidl(std::string_view s) noexcept {
    if (s.empty() || s.size() > 70) return false;
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x21 || b > 0x7e) return false;
    }
    return true;
}

// Up to two arguments separated by runs of spaces (trailing spaces ignored); nullopt when more.
struct Args {
    std::array<std::string_view, 2> v;
    std::size_t count = 0;
};
inline std::optional<Args> split_args(std::string_view s) {
    Args args;
    while (true) {
        const std::size_t start = s.find_first_not_of(' ');
        if (start == std::string_view::npos) return args;
        s.remove_prefix(start);
        if (args.count == args.v.size()) return std::nullopt;
        const std::size_t end = s.find(' ');
        args.v[args.count++] = s.substr(0, end);
        s.remove_prefix(end == std::string_view::npos ? s.size() : end);
    }
}

// Digits only (no sign, no space), at most digits_max of them, so the value cannot overflow.
inline std::optional<std::uint64_t> parse_number(std::string_view s, std::size_t digits_max) noexcept {
    if (s.empty() || s.size() > digits_max) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

inline void append_number(std::string& out, std::uint64_t v) {
    std::array<char, 20> digits{};
    std::size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) out.push_back(digits[--n]);
}

}  // namespace vmx::pop3
