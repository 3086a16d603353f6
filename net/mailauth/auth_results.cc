// Authentication-Results fields (see auth_results.h).
#include "net/mailauth/auth_results.h"

#include <algorithm>

#include "net/mailauth/header_fields.h"

namespace vmx::mailauth {
namespace {

constexpr std::string_view field_name = "authentication-results";

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 token: any printable ASCII but SPACE and tspecials.
bool is_token_byte(char c) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f) return false;
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

// Skips FWS and comments from `i`; false on an unbalanced or too deep comment.
bool skip_cfws(std::string_view v, std::size_t& i) {
    std::size_t depth = 0;
    while (i < v.size()) {
        const char c = v[i];
        if (c == '(') {
            if (++depth > comment_depth_max) return false;
            ++i;
        } else if (depth > 0 && c == ')') {
            --depth;
            ++i;
        } else if (depth > 0 && c == '\\' && i + 1 < v.size()) {
            i += 2;
        } else if (depth > 0 || is_fws(c)) {  // inside a comment, or folding white space
            ++i;
        } else {
            break;
        }
    }
    return depth == 0;
}

std::string quoted_if_needed(std::string_view v) {
    if (!v.empty() && std::all_of(v.begin(), v.end(), is_token_byte)) return std::string(v);
    std::string out = "\"";
    for (const char c : v) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7f) continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string comment_text(std::string_view v) {
    std::string out;
    for (const char c : v) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7f || c == '(' || c == ')' || c == '\\') continue;
        out += c;
    }
    return out;
}

}  // namespace

std::optional<std::string> authserv_id(std::string_view value) {
    std::size_t i = 0;
    if (!skip_cfws(value, i) || i >= value.size()) return std::nullopt;
    std::string id;
    if (value[i] == '"') {
        for (++i; i < value.size() && value[i] != '"'; ++i) {
            if (value[i] == '\\' && i + 1 < value.size()) ++i;
            if (value[i] != '\r' && value[i] != '\n') id += value[i];
        }
        if (i >= value.size()) return std::nullopt;  // unterminated
    } else {
        // A token; a domain name is one (dots are not tspecials). Stops at ';', CFWS or a version.
        while (i < value.size() && is_token_byte(value[i])) id += value[i++];
    }
    if (id.empty()) return std::nullopt;
    return id;
}

Stripped strip_auth_results(std::string_view message, std::string_view id, const HeaderLimits& limits) {
    Stripped out;
    std::size_t kept_from = 0;
    for (const HeaderField& f : header_fields(message, limits).fields) {
        if (!same_name(f.name, field_name)) continue;
        const auto claimed = authserv_id(f.value);
        if (claimed && !same_name(*claimed, id)) continue;
        out.message.append(message.substr(kept_from, f.begin - kept_from));
        kept_from = f.end;
        ++out.removed;
    }
    if (out.removed == 0) {
        out.message.assign(message);
        return out;
    }
    out.message.append(message.substr(kept_from));
    return out;
}

std::string format_auth_results(std::string_view id, const std::vector<ResultInfo>& results) {
    std::string out = "Authentication-Results: ";
    out += quoted_if_needed(id);
    if (results.empty()) return out + "; none\r\n";
    for (const ResultInfo& r : results) {
        out += ";\r\n\t";
        out += r.method;
        out += '=';
        out += r.result;
        if (const std::string c = comment_text(r.comment); !c.empty()) out += " (" + c + ")";
        for (const auto& [property, v] : r.properties) {
            out += ' ';
            out += property;
            out += '=';
            out += quoted_if_needed(v);
        }
    }
    return out + "\r\n";
}

}  // namespace vmx::mailauth
