// Parsing of SMTP paths and ESMTP parameters. Pure; any thread. Every loop is bounded by the
// command line, which the session has already limited to line_bytes_max.
#include "net/smtp/path.h"

#include "core/patterns.h"

namespace vmx::smtp {
namespace {

// Index of the ">" that closes the path opened at text[0] == '<', skipping quoted strings (which
// may hold '>' and '\' escapes); npos when there is none.
std::size_t closing_bracket(std::string_view text) noexcept {
    bool quoted = false;
    for (std::size_t i = 1; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == '>') {
            return i;
        }
    }
    return std::string_view::npos;
}

// "@a,@b:" (RFC 5321 A-d-l): each hop a domain or address literal.
bool valid_source_route(std::string_view route) noexcept {
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = route.find(',', start);
        const std::string_view hop = route.substr(start, comma == route.npos ? route.npos : comma - start);
        if (hop.size() < 2 || hop[0] != '@' || !matches(Pattern::helo_name, hop.substr(1))) return false;
        if (comma == route.npos) return true;
        start = comma + 1;
    }
}

// Splits mailbox into local part and domain; a quoted local part may itself contain '@'.
bool split_mailbox(std::string_view mailbox, Path& out) noexcept {
    std::size_t at = std::string_view::npos;
    if (mailbox.front() == '"') {
        for (std::size_t i = 1; i < mailbox.size(); ++i) {
            if (mailbox[i] == '\\') {
                ++i;
            } else if (mailbox[i] == '"') {
                at = i + 1;
                break;
            }
        }
        if (at != std::string_view::npos && at < mailbox.size() && mailbox[at] != '@') return false;
        if (at == mailbox.size()) at = std::string_view::npos;
    } else {
        at = mailbox.rfind('@');
    }
    if (at == std::string_view::npos) {
        out.local_part = mailbox;  // "<postmaster>" (RFC 5321 4.5.1) and nothing else is domainless
        return true;
    }
    out.local_part = mailbox.substr(0, at);
    out.domain = mailbox.substr(at + 1);
    return !out.local_part.empty() && !out.domain.empty();
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] | 0x20) : a[i];
        const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] | 0x20) : b[i];
        if (x != y) return false;
    }
    return true;
}

bool parse_path(std::string_view text, Path& out) noexcept {
    out = Path{};
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);  // "FROM: <a@b>" is common
    if (text.empty() || text.front() != '<') return false;
    const std::size_t close = closing_bracket(text);
    if (close == std::string_view::npos) return false;
    std::string_view inner = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ' ') return false;
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    out.params = rest;
    if (!inner.empty() && inner.front() == '@') {
        const std::size_t colon = inner.find(':');
        if (colon == std::string_view::npos || !valid_source_route(inner.substr(0, colon))) return false;
        out.source_route = true;
        inner.remove_prefix(colon + 1);
        if (inner.empty()) return false;
    }
    out.mailbox = inner;
    return inner.empty() || split_mailbox(inner, out);
}

bool parse_params(std::string_view text, Params& out) noexcept {
    out.count = 0;
    while (!text.empty()) {
        const std::size_t space = text.find(' ');
        const std::string_view item = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
        if (item.empty()) continue;  // doubled spaces
        if (out.count == params_max) return false;
        Param& p = out.items[out.count++];
        const std::size_t eq = item.find('=');
        p.keyword = item.substr(0, eq);
        p.has_value = eq != std::string_view::npos;
        p.value = p.has_value ? item.substr(eq + 1) : std::string_view{};
        if (!matches(Pattern::esmtp_keyword, p.keyword)) return false;
        if (p.has_value && !matches(Pattern::esmtp_value, p.value)) return false;
    }
    return true;
}

}  // namespace vmx::smtp
