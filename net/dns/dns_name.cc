// Domain name checks (see dns_name.h). Byte loops over ASCII; no locale.
#include "net/dns/dns_name.h"

#include <cstdint>

namespace vmx::net::dns {
namespace {

constexpr std::size_t label_bytes_max = 63;  // RFC 1035 2.3.4

bool is_letter_or_digit(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string_view strip_dot(std::string_view name) noexcept {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return name;
}

enum class Labels : std::uint8_t { query, host };

// Splits on '.' and checks each label; an empty label (leading dot, "..") fails.
bool labels_ok(std::string_view name, std::size_t name_bytes_max, Labels kind) noexcept {
    name = strip_dot(name);
    if (name.empty() || name.size() > name_bytes_max) return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find('.', start);
        if (end == std::string_view::npos) end = name.size();
        const std::string_view label = name.substr(start, end - start);
        if (label.empty() || label.size() > label_bytes_max) return false;
        for (char c : label) {
            const bool ok = is_letter_or_digit(c) || c == '-' || (kind == Labels::query && c == '_');
            if (!ok) return false;
        }
        if (kind == Labels::host && (label.front() == '-' || label.back() == '-')) return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

bool is_query_name(std::string_view name, std::size_t name_bytes_max) noexcept {
    return labels_ok(name, name_bytes_max, Labels::query);
}

bool is_host_name(std::string_view name, std::size_t name_bytes_max) noexcept {
    return labels_ok(name, name_bytes_max, Labels::host) && !is_numeric_name(name);
}

bool is_numeric_name(std::string_view name) noexcept {
    name = strip_dot(name);
    const std::size_t dot = name.rfind('.');
    const std::string_view last = dot == std::string_view::npos ? name : name.substr(dot + 1);
    if (last.empty()) return false;
    for (char c : last)
        if (c < '0' || c > '9') return false;
    return true;
}

std::string canonical_name(std::string_view name) {
    name = strip_dot(name);
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace vmx::net::dns
