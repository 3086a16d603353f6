// Splitting a header section into fields (see header_fields.h).
#include "net/mailauth/header_fields.h"

#include <algorithm>

namespace vmx::mailauth {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view without_line_break(std::string_view s) {
    if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    return s;
}

}  // namespace

bool same_name(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

HeaderSection header_fields(std::string_view message, const HeaderLimits& limits) {
    HeaderSection out;
    out.body_begin = message.size();
    const std::string_view section = message.substr(0, std::min(message.size(), limits.section_bytes_max));
    std::size_t pos = 0;
    while (pos < section.size()) {
        const std::size_t eol = section.find('\n', pos);
        if (eol == std::string_view::npos) return out;  // cut by the limit, or no line break at all
        const std::string_view first = section.substr(pos, eol - pos);
        if (first.empty() || first == "\r") {  // the empty line ends the section
            out.body_begin = eol + 1;
            out.complete = true;
            return out;
        }
        const std::size_t colon = first.find(':');
        if (is_wsp(first.front()) || colon == std::string_view::npos || out.fields.size() == limits.fields_max)
            return out;
        std::size_t end = eol + 1;  // continuation lines (RFC 5322 2.2.3) belong to this field
        while (end < section.size() && is_wsp(section[end])) {
            const std::size_t next = section.find('\n', end);
            if (next == std::string_view::npos) return out;
            end = next + 1;
        }
        std::string_view name = first.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
        const std::string_view whole = section.substr(pos, end - pos);
        out.fields.push_back(HeaderField{pos, end, name, whole.substr(colon + 1), without_line_break(whole)});
        pos = end;
    }
    if (pos == message.size()) {  // headers only, no empty line: the body is empty
        out.body_begin = pos;
        out.complete = true;
    }
    return out;
}

}  // namespace vmx::mailauth
