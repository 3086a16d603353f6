// Parsing of RFC 5322 mailbox-lists for From: and Sender:. Pure; any thread. A mailbox is read at
// most twice (first as a bare addr-spec, then as a name-addr), every other byte once, so the cost
// is linear in the value. Anything outside the grammar is refused rather than repaired: what is
// returned decides whom a message claims to be from.
#include "net/smtp/address_list.h"

#include <utility>

#include "core/patterns.h"

namespace vmx::smtp {
namespace {

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
// RFC 6532 3.2: UTF-8 (any byte >= 0x80) is allowed wherever atext, qtext, ctext or dtext is.
bool is_high(char c) noexcept { return static_cast<unsigned char>(c) >= 0x80; }
bool is_vchar(char c) noexcept { return c > ' ' && c < '\x7f'; }
bool is_atom_char(char c) noexcept { return is_atext(c) || is_high(c); }
bool is_qtext(char c) noexcept { return (is_vchar(c) && c != '"' && c != '\\') || is_high(c); }
bool is_ctext(char c) noexcept { return (is_vchar(c) && c != '(' && c != ')' && c != '\\') || is_high(c); }
bool is_dtext(char c) noexcept { return (is_vchar(c) && c != '[' && c != ']' && c != '\\') || is_high(c); }
// quoted-pair is "\" (VCHAR / WSP); obs-qp's controls and NUL are refused.
bool is_quotable(char c) noexcept { return is_vchar(c) || is_wsp(c) || is_high(c); }

struct Cursor {
    std::string_view text;
    std::size_t pos = 0;

    bool done() const noexcept { return pos == text.size(); }
    char peek() const noexcept { return done() ? '\0' : text[pos]; }  // '\0' is never accepted
    bool take(char c) noexcept {
        if (done() || text[pos] != c) return false;
        ++pos;
        return true;
    }
};

// CFWS (RFC 5322 3.2.2): whitespace and comments; comments nest and hold quoted-pairs. False on an
// unclosed comment, a control byte inside one, or nesting deeper than comment_depth_max.
bool skip_cfws(Cursor& in) noexcept {
    std::size_t depth = 0;
    for (; !in.done(); ++in.pos) {
        const char c = in.text[in.pos];
        if (c == '(') {
            if (++depth > comment_depth_max) return false;
        } else if (depth == 0) {
            if (!is_wsp(c)) return true;  // a stray ')' is left for the caller to refuse
        } else if (c == ')') {
            --depth;
        } else if (c == '\\') {
            if (in.pos + 1 == in.text.size() || !is_quotable(in.text[in.pos + 1])) return false;
            ++in.pos;
        } else if (!is_ctext(c) && !is_wsp(c)) {
            return false;
        }
    }
    return depth == 0;
}

std::string_view take_atom(Cursor& in) noexcept {
    const std::size_t start = in.pos;
    while (!in.done() && is_atom_char(in.text[in.pos])) ++in.pos;
    return in.text.substr(start, in.pos - start);
}

// dot-atom-text: 1*atext *("." 1*atext). Empty when absent or malformed ("a..b", "a.").
std::string_view take_dot_atom_text(Cursor& in) noexcept {
    const std::size_t start = in.pos;
    do {
        if (take_atom(in).empty()) return {};
    } while (in.take('.'));
    return in.text.substr(start, in.pos - start);
}

bool is_dot_atom_text(std::string_view text) noexcept {
    Cursor in{text};
    return !take_dot_atom_text(in).empty() && in.done();
}

// quoted-string (RFC 5322 3.2.4) at a '"': the text as written, quotes included, and its content
// with quoted-pairs resolved. False when unterminated or holding a control byte.
bool take_quoted_string(Cursor& in, std::string_view& written, std::string& content) {
    const std::size_t start = in.pos;
    if (!in.take('"')) return false;
    content.clear();
    while (!in.done()) {
        const char c = in.text[in.pos++];
        if (c == '"') {
            written = in.text.substr(start, in.pos - start);
            return true;
        }
        if (c == '\\') {
            if (in.done() || !is_quotable(in.peek())) return false;
            content += in.text[in.pos++];
        } else if (is_qtext(c) || is_wsp(c)) {
            content += c;
        } else {
            return false;
        }
    }
    return false;
}

// A dot-atom, or a quoted-string: unquoted when its content is a dot-atom ("john"@x is john@x, so
// quoting cannot disguise an address), kept as written otherwise. Obs-local-part's mixtures
// ("a"."b", "a . b") are refused.
bool take_local_part(Cursor& in, std::string& out) {
    if (in.peek() != '"') {
        const std::string_view atom = take_dot_atom_text(in);
        out.append(atom);
        return !atom.empty();
    }
    std::string_view written;
    std::string content;
    if (!take_quoted_string(in, written, content) || content.empty()) return false;
    out.append(is_dot_atom_text(content) ? std::string_view(content) : written);
    return true;
}

// A dot-atom or a domain-literal "[...]" (no whitespace or quoted-pairs inside), appended in
// ASCII lower case so that the caller compares domains byte for byte.
bool take_domain(Cursor& in, std::string& out) {
    std::string_view domain;
    if (in.peek() == '[') {
        const std::size_t start = in.pos++;
        while (!in.done() && is_dtext(in.text[in.pos])) ++in.pos;
        if (!in.take(']') || in.pos - start == 2) return false;
        domain = in.text.substr(start, in.pos - start);
    } else {
        domain = take_dot_atom_text(in);
        if (domain.empty()) return false;
    }
    for (const char c : domain) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
    return true;
}

// addr-spec with the CFWS around it and around its "@" (RFC 5322 3.4.1).
bool take_addr_spec(Cursor& in, std::string& out) {
    out.clear();
    if (!skip_cfws(in) || !take_local_part(in, out) || !skip_cfws(in) || !in.take('@')) return false;
    out += '@';
    return skip_cfws(in) && take_domain(in, out) && skip_cfws(in);
}

// "<" addr-spec ">". An obs-route ("<@a,@b:x@y>") fails as an empty local part: submission has no
// use for source routes (RFC 5321 C. deprecates them).
bool take_angle_addr(Cursor& in, std::string& out) {
    return in.take('<') && take_addr_spec(in, out) && in.take('>') && skip_cfws(in);
}

// name-addr: an optional display-name, a phrase of atoms and quoted-strings (RFC 2047 encoded
// words are atoms here) with obs-phrase's dots ("John Q. Public"), then angle-addr.
bool take_name_addr(Cursor& in, std::string& out) {
    bool had_word = false;
    std::string_view written;
    std::string content;
    while (skip_cfws(in)) {
        const char c = in.peek();
        if (c == '<') return take_angle_addr(in, out);
        if (c == '"') {
            if (!take_quoted_string(in, written, content)) return false;
        } else if (c == '.' && had_word) {
            ++in.pos;
        } else if (take_atom(in).empty()) {
            return false;  // a group's ':', a second '@', a stray '>' or ')', a control byte
        }
        had_word = true;
    }
    return false;
}

bool at_element_end(const Cursor& in) noexcept { return in.done() || in.peek() == ','; }

bool take_mailbox(Cursor& in, std::string& out) {
    const std::size_t start = in.pos;
    if (take_addr_spec(in, out) && at_element_end(in)) return true;
    in.pos = start;
    return take_name_addr(in, out) && at_element_end(in);
}

}  // namespace

std::optional<std::vector<std::string>> parse_mailbox_list(std::string_view value, std::size_t max) {
    Cursor in{value};
    std::vector<std::string> list;
    std::string address;
    while (true) {
        if (!skip_cfws(in)) return std::nullopt;
        if (in.done()) break;
        if (in.take(',')) continue;  // obs-mbox-list: empty elements (", ,") are allowed
        if (list.size() == max || !take_mailbox(in, address)) return std::nullopt;
        list.push_back(std::move(address));
    }
    if (list.empty()) return std::nullopt;
    return list;
}

}  // namespace vmx::smtp
