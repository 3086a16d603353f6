// Small text helpers the SMTP engine's files share (session.cc, session_submission.cc). Pure, any
// thread; internal to net/smtp.
#pragma once

#include <cstdint>
#include <string_view>

#include "net/smtp/path.h"

namespace vmx::smtp::detail {

inline constexpr std::uint64_t digits_max = 18;  // so any accepted number fits in 63 bits

// A decimal number of 1..18 digits; false for anything else.
inline bool parse_count(std::string_view text, std::uint64_t& value) noexcept {
    if (text.empty() || text.size() > digits_max) return false;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
}

inline std::string_view trim_spaces(std::string_view s) noexcept {
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

inline bool has_prefix_ci(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace vmx::smtp::detail
