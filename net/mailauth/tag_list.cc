// tag=value lists (see tag_list.h).
#include "net/mailauth/tag_list.h"

#include <algorithm>

namespace vmx::mailauth {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// VALCHAR (%x21-3A / %x3C-7E) and FWS; bytes >= 0x80 too, as DNS may carry UTF-8 in free text.
bool is_value_byte(char c) {
    const auto b = static_cast<unsigned char>(c);
    return is_space(c) || (b >= 0x21 && b != ';' && b != 0x7f);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view name) {
    if (name.empty() || !is_alpha(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

}  // namespace

std::optional<std::vector<Tag>> parse_tag_list(std::string_view text, std::size_t max) {
    std::vector<Tag> tags;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find(';'), text.size());
        const std::string_view spec = text.substr(0, end);
        text.remove_prefix(end == text.size() ? end : end + 1);
        if (trim(spec).empty()) {
            if (text.empty()) break;  // the optional ";" after the last tag
            return std::nullopt;      // an empty element between two ";"
        }
        const std::size_t eq = spec.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        Tag tag{trim(spec.substr(0, eq)), trim(spec.substr(eq + 1))};
        if (!valid_name(tag.name)) return std::nullopt;
        if (!std::all_of(tag.value.begin(), tag.value.end(), is_value_byte)) return std::nullopt;
        const bool duplicate = std::any_of(tags.begin(), tags.end(), [&](const Tag& t) { return t.name == tag.name; });
        if (duplicate || tags.size() == max) return std::nullopt;
        tags.push_back(tag);
    }
    return tags;
}

bool is_dmarc_record(std::string_view text) {
    const auto tags = parse_tag_list(text);
    return tags && !tags->empty() && tags->front().name == "v" && tags->front().value == "DMARC1";
}

}  // namespace vmx::mailauth
