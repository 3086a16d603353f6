// Relaxed canonicalization and header selection (see dkim_canon.h).
#include "net/mailauth/dkim_canon.h"

#include <cstddef>

namespace vmx::mailauth {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Runs of WSP as one space, CR and LF dropped (unfolding), no whitespace at either end.
std::string squeezed(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    bool space = false;
    for (const char c : value) {
        if (c == '\r' || c == '\n') continue;
        if (is_wsp(c)) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

// A body line: runs of WSP as one space, none at the end (leading whitespace stays, as one space).
std::string squeezed_line(std::string_view line) {
    std::string out;
    out.reserve(line.size());
    bool space = false;
    for (const char c : line) {
        if (is_wsp(c)) {
            space = true;
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

}  // namespace

std::string relaxed_header(std::string_view field) {
    const std::size_t colon = field.find(':');
    std::string out;
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    for (const char c : name) out += lower(c);
    out += ':';
    if (colon != std::string_view::npos) out += squeezed(field.substr(colon + 1));
    out += "\r\n";
    return out;
}

std::string relaxed_body(std::string_view body) {
    std::string out;
    out.reserve(body.size());
    std::size_t empty_lines = 0;  // held back: empty lines at the very end are dropped
    while (!body.empty()) {
        const std::size_t end = body.find('\n');
        std::string_view line = body.substr(0, end);
        body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const std::string text = squeezed_line(line);
        if (text.empty()) {
            ++empty_lines;
            continue;
        }
        for (; empty_lines > 0; --empty_lines) out += "\r\n";
        out += text;
        out += "\r\n";
    }
    return out;
}

std::string signed_headers(const std::vector<HeaderField>& fields, const std::vector<std::string>& names) {
    std::vector<bool> used(fields.size(), false);
    std::string out;
    for (const std::string& name : names) {
        for (std::size_t i = fields.size(); i-- > 0;) {
            if (used[i] || !same_name(fields[i].name, name)) continue;
            used[i] = true;
            out += relaxed_header(fields[i].text);
            break;
        }
    }
    return out;
}

}  // namespace vmx::mailauth
