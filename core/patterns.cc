// The table of named input patterns and their hand-written validators. Pure; any thread. Each
// validator runs after the table's length check, so every loop below is bounded by bytes_max.
#include "core/patterns.h"

#include <array>
#include <cstring>
#include <string>

namespace vmx {
namespace {

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }
bool is_ldh(char c) noexcept { return is_alnum(c) || c == '-'; }
bool is_hex(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
unsigned hex_value(char c) noexcept {
    if (is_digit(c)) return static_cast<unsigned>(c - '0');
    return static_cast<unsigned>((c | 0x20) - 'a' + 10);
}
unsigned char byte_at(std::string_view s, std::size_t i) noexcept { return static_cast<unsigned char>(s[i]); }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    }
    return true;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is not the shortest
// encoding of a scalar value (overlong forms, surrogates, > U+10FFFF, truncation).
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) noexcept {
    const unsigned b0 = byte_at(s, i);
    if (b0 < 0x80) { cp = b0; return 1; }
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (b0 >= 0xc2 && b0 <= 0xdf) { len = 2; cp = b0 & 0x1f; min = 0x80; }
    else if (b0 >= 0xe0 && b0 <= 0xef) { len = 3; cp = b0 & 0x0f; min = 0x800; }
    else if (b0 >= 0xf0 && b0 <= 0xf4) { len = 4; cp = b0 & 0x07; min = 0x10000; }
    else return 0;  // continuation byte, C0/C1 overlong lead, or F5..FF
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const unsigned b = byte_at(s, i + k);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

// Code points never allowed in a name even under SMTPUTF8: C1 controls, invisible and
// direction-changing characters that make two names look alike.
bool is_forbidden_code_point(std::uint32_t cp) noexcept {
    return cp < 0xa0 || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2064) || cp == 0xfeff;
}

// RFC 1035 LDH label; "??--" is reserved (RFC 5890) unless it is an "xn--" A-label with content.
bool check_ldh_label(std::string_view label) noexcept {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
        if (!is_ldh(c)) return false;
    }
    if (label.size() >= 4 && label[2] == '-' && label[3] == '-') {
        return iequals(label.substr(0, 4), "xn--") && label.size() > 4;
    }
    return true;
}

// A U-label: valid UTF-8, at least one non-ASCII character, ASCII parts LDH, no hyphen at the ends.
// (Full IDNA2008 code point tables and NFC are not checked here.)
bool check_u_label(std::string_view label) noexcept {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    bool non_ascii = false;
    for (std::size_t i = 0; i < label.size();) {
        std::uint32_t cp = 0;
        const std::size_t n = decode_utf8(label, i, cp);
        if (n == 0) return false;
        if (n == 1 && !is_ldh(label[i])) return false;
        if (n > 1) {
            if (is_forbidden_code_point(cp)) return false;
            non_ascii = true;
        }
        i += n;
    }
    return non_ascii || check_ldh_label(label);
}

bool all_digits(std::string_view s) noexcept {
    for (char c : s) {
        if (!is_digit(c)) return false;
    }
    return true;
}

template <class LabelCheck>
bool check_labels(std::string_view text, LabelCheck check_label) noexcept {
    std::string_view last;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = text.find('.', start);
        const std::string_view label = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
        if (!check_label(label)) return false;
        last = label;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return !all_digits(last);  // an all-numeric top label would read as an IPv4 address
}

bool check_domain(std::string_view text) noexcept { return check_labels(text, check_ldh_label); }
bool check_domain_utf8(std::string_view text) noexcept { return check_labels(text, check_u_label); }

// Dot-string: atoms separated by single dots; Atom says which bytes an atom may hold and how many
// it consumed (so UTF-8 sequences are taken whole).
template <class AtomChar>
bool check_dot_string(std::string_view text, AtomChar atom_char) noexcept {
    if (text.empty() || text.front() == '.' || text.back() == '.') return false;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '.') {
            if (text[i + 1] == '.') return false;  // safe: text.back() != '.'
            ++i;
            continue;
        }
        const std::size_t n = atom_char(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::size_t ascii_atom_char(std::string_view s, std::size_t i) noexcept { return is_atext(s[i]) ? 1 : 0; }
std::size_t utf8_atom_char(std::string_view s, std::size_t i) noexcept {
    if (byte_at(s, i) < 0x80) return ascii_atom_char(s, i);
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(s, i, cp);
    return n != 0 && !is_forbidden_code_point(cp) ? n : 0;
}

bool check_local_part(std::string_view text) noexcept { return check_dot_string(text, ascii_atom_char); }
bool check_local_part_utf8(std::string_view text) noexcept { return check_dot_string(text, utf8_atom_char); }

// RFC 5321 Quoted-string: DQUOTE 1*(qtextSMTP / "\" %d32-126) DQUOTE (empty refused).
bool check_quoted_string(std::string_view text) noexcept {
    if (text.size() < 3 || text.front() != '"' || text.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
        const unsigned c = byte_at(text, i);
        if (c == '\\') {
            if (i + 2 >= text.size()) return false;  // the escape would eat the closing quote
            const unsigned next = byte_at(text, ++i);
            if (next < 32 || next > 126) return false;
        } else if (c < 32 || c > 126 || c == '"') {
            return false;
        }
    }
    return true;
}

bool check_local_part_smtp(std::string_view text) noexcept {
    return text.front() == '"' ? check_quoted_string(text) : check_local_part(text);
}

template <class LocalCheck, class DomainCheck>
bool check_mailbox(std::string_view text, LocalCheck local_ok, DomainCheck domain_ok) noexcept {
    const std::size_t at = text.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64) return false;
    const std::string_view local = text.substr(0, at);
    const std::string_view domain = text.substr(at + 1);
    return !domain.empty() && domain.size() <= 253 && local_ok(local) && domain_ok(domain);
}

bool check_address(std::string_view text) noexcept { return check_mailbox(text, check_local_part, check_domain); }
bool check_address_utf8(std::string_view text) noexcept {
    return check_mailbox(text, check_local_part_utf8, check_domain_utf8);
}

bool parse_ipv4(std::string_view s, std::uint8_t* out) noexcept {
    std::size_t part = 0;
    std::size_t i = 0;
    while (part < 4) {
        std::size_t digits = 0;
        unsigned value = 0;
        while (i < s.size() && is_digit(s[i]) && digits < 4) {
            value = value * 10 + static_cast<unsigned>(s[i] - '0');
            ++digits;
            ++i;
        }
        if (digits == 0 || digits > 3 || value > 255) return false;
        if (digits > 1 && s[i - digits] == '0') return false;  // leading zero: octal in some parsers
        out[part++] = static_cast<std::uint8_t>(value);
        if (part < 4) {
            if (i >= s.size() || s[i] != '.') return false;
            ++i;
        }
    }
    return i == s.size();
}

// One IPv6 piece: 1..4 hex digits.
bool parse_hex_group(std::string_view piece, std::uint16_t& group) noexcept {
    if (piece.empty() || piece.size() > 4) return false;
    unsigned value = 0;
    for (char c : piece) {
        if (!is_hex(c)) return false;
        value = value * 16 + hex_value(c);
    }
    group = static_cast<std::uint16_t>(value);
    return true;
}

// Appends the piece (a hex group, or a trailing dotted quad worth two groups) to groups.
bool add_ipv6_piece(std::string_view piece, bool last, std::array<std::uint16_t, 8>& groups,
                    std::size_t& count) noexcept {
    if (piece.find('.') != std::string_view::npos) {
        std::uint8_t v4[4];
        if (!last || count > 6 || !parse_ipv4(piece, v4)) return false;
        groups[count++] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
        groups[count++] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
        return true;
    }
    if (count >= 8) return false;
    return parse_hex_group(piece, groups[count++]);
}

bool parse_ipv6(std::string_view s, std::uint8_t* out) noexcept {
    if (s.size() < 2 || s.size() > 45) return false;
    std::array<std::uint16_t, 8> groups{};
    std::size_t count = 0;
    // Index in groups where "::" stands. "None" is not 8: "::" after eight groups stands at 8, and
    // must be refused (it would be a ninth group at least; RFC 4291 2.2).
    constexpr std::size_t no_gap = 9;
    std::size_t gap_at = no_gap;
    std::size_t i = 0;
    if (s[0] == ':') {
        if (s[1] != ':') return false;
        gap_at = 0;
        i = 2;
    }
    while (i < s.size()) {
        const std::size_t colon = s.find(':', i);
        const bool last = colon == std::string_view::npos;
        if (!add_ipv6_piece(s.substr(i, last ? s.npos : colon - i), last, groups, count)) return false;
        if (last) break;
        i = colon + 1;
        if (i < s.size() && s[i] == ':') {
            if (gap_at != no_gap) return false;  // "::" twice
            gap_at = count;
            ++i;
        } else if (i == s.size()) {
            return false;  // a single trailing colon
        }
    }
    if (gap_at == no_gap ? count != 8 : count > 7) return false;
    std::array<std::uint16_t, 8> full{};
    const std::size_t tail = count - (gap_at == no_gap ? count : gap_at);
    for (std::size_t k = 0; k < count - tail; ++k) full[k] = groups[k];
    for (std::size_t k = 0; k < tail; ++k) full[8 - tail + k] = groups[count - tail + k];
    for (std::size_t k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xff);
    }
    return true;
}

bool check_ipv4(std::string_view text) noexcept {
    std::uint8_t v[4];
    return parse_ipv4(text, v);
}
bool check_ipv6(std::string_view text) noexcept {
    std::uint8_t v[16];
    return parse_ipv6(text, v);
}

// "/len" is optional (a host); bits past the prefix must be zero so "10.0.0.1/8" is refused.
template <std::size_t Bytes>
bool check_cidr(std::string_view text, bool (*parse)(std::string_view, std::uint8_t*)) noexcept {
    const std::size_t slash = text.find('/');
    std::uint8_t addr[Bytes];
    if (!parse(text.substr(0, slash), addr)) return false;
    if (slash == std::string_view::npos) return true;
    const std::string_view len_text = text.substr(slash + 1);
    if (len_text.empty() || len_text.size() > 3 || !all_digits(len_text)) return false;
    if (len_text.size() > 1 && len_text[0] == '0') return false;
    unsigned prefix = 0;
    for (char c : len_text) prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    if (prefix > Bytes * 8) return false;
    for (std::size_t bit = prefix; bit < Bytes * 8; ++bit) {
        if (addr[bit / 8] & (0x80u >> (bit % 8))) return false;
    }
    return true;
}

bool check_ipv4_cidr(std::string_view text) noexcept { return check_cidr<4>(text, parse_ipv4); }
bool check_ipv6_cidr(std::string_view text) noexcept { return check_cidr<16>(text, parse_ipv6); }

bool check_address_literal(std::string_view text) noexcept {
    if (text.size() < 3 || text.front() != '[' || text.back() != ']') return false;
    const std::string_view inner = text.substr(1, text.size() - 2);
    if (inner.size() > 5 && iequals(inner.substr(0, 5), "IPv6:")) return check_ipv6(inner.substr(5));
    return check_ipv4(inner);
}

bool check_helo_name(std::string_view text) noexcept {
    return text.front() == '[' ? check_address_literal(text) : (text.size() <= 253 && check_domain(text));
}

bool check_org_name(std::string_view text) noexcept {
    if (text.front() == ' ' || text.back() == ' ') return false;
    for (char c : text) {
        if (!is_alnum(c) && c != ' ' && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
}

bool check_label(std::string_view text) noexcept {
    for (char c : text) {
        if (!is_alnum(c) && c != ' ' && c != '-' && c != '_' && c != '.') return false;
    }
    return true;
}

bool check_plan_name(std::string_view text) noexcept {
    if (text.front() < 'a' || text.front() > 'z') return false;
    for (char c : text) {
        if (!(c >= 'a' && c <= 'z') && !is_digit(c) && c != '-' && c != '_') return false;
    }
    return true;
}

bool check_dkim_selector(std::string_view text) noexcept {
    if (text.front() == '-') return false;
    for (char c : text) {
        if (!(c >= 'a' && c <= 'z') && !is_digit(c) && c != '-') return false;
    }
    return true;
}

bool check_esmtp_keyword(std::string_view text) noexcept {
    if (!is_alnum(text.front())) return false;
    for (char c : text) {
        if (!is_ldh(c)) return false;
    }
    return true;
}

bool check_esmtp_value(std::string_view text) noexcept {
    for (char c : text) {
        if (c < 33 || c > 126 || c == '=') return false;
    }
    return true;
}

struct PatternSpec {
    Pattern pattern;
    std::string_view name;
    std::size_t bytes_max;
    bool (*check)(std::string_view) noexcept;
};

// The one table. Order follows the enum (checked below); bytes_max applies before the validator.
constexpr std::array<PatternSpec, pattern_count> table{{
    {Pattern::domain, "domain", 253, check_domain},
    {Pattern::domain_utf8, "UTF-8 domain", 253, check_domain_utf8},
    {Pattern::local_part, "local part", 64, check_local_part},
    {Pattern::local_part_smtp, "SMTP local part", 64, check_local_part_smtp},
    {Pattern::local_part_utf8, "UTF-8 local part", 64, check_local_part_utf8},
    {Pattern::address, "address", 254, check_address},
    {Pattern::mailbox_address_utf8, "UTF-8 address", 254, check_address_utf8},
    {Pattern::address_literal, "address literal", 52, check_address_literal},
    {Pattern::helo_name, "HELO name", 253, check_helo_name},
    {Pattern::org_name, "organisation name", 64, check_org_name},
    {Pattern::label, "label", 32, check_label},
    {Pattern::plan_name, "plan name", 32, check_plan_name},
    {Pattern::ipv4, "IPv4 address", 15, check_ipv4},
    {Pattern::ipv6, "IPv6 address", 45, check_ipv6},
    {Pattern::ipv4_cidr, "IPv4 CIDR", 18, check_ipv4_cidr},
    {Pattern::ipv6_cidr, "IPv6 CIDR", 49, check_ipv6_cidr},
    {Pattern::esmtp_keyword, "ESMTP keyword", 64, check_esmtp_keyword},
    {Pattern::esmtp_value, "ESMTP value", 500, check_esmtp_value},
    {Pattern::dkim_selector, "DKIM selector", 63, check_dkim_selector},
}};

constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (static_cast<std::size_t>(table[i].pattern) != i) return false;
    }
    return true;
}
static_assert(table_in_enum_order(), "the pattern table must follow the enum's order");

const PatternSpec& spec(Pattern pattern) noexcept {
    const auto index = static_cast<std::size_t>(pattern);
    VMX_ASSERT(index < table.size());
    return table[index];
}

class PatternCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.pattern"; }
    std::string message(int value) const override {
        if (value <= 0 || static_cast<std::size_t>(value) > table.size()) return "invalid input";
        return "invalid " + std::string(table[static_cast<std::size_t>(value - 1)].name);
    }
};

}  // namespace

bool is_atext(char c) noexcept {
    if (is_alnum(c)) return true;
    return c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool is_ascii(std::string_view text) noexcept {
    for (char c : text) {
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
}

bool is_valid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp = 0;
        const std::size_t n = decode_utf8(text, i, cp);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

bool matches(Pattern pattern, std::string_view text) noexcept {
    const PatternSpec& s = spec(pattern);
    if (text.empty() || text.size() > s.bytes_max) return false;
    return s.check(text);
}

Result<void> validate(Pattern pattern, std::string_view text) {
    if (matches(pattern, text)) return {};
    return fail(std::error_code(static_cast<int>(pattern) + 1, pattern_category()));
}

std::string_view pattern_name(Pattern pattern) noexcept { return spec(pattern).name; }
std::size_t pattern_bytes_max(Pattern pattern) noexcept { return spec(pattern).bytes_max; }

const std::error_category& pattern_category() noexcept {
    static const PatternCategory category;
    return category;
}

}  // namespace vmx
