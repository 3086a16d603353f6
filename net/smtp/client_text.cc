// Text helpers of the SMTP client engine: reply text cleaning, EHLO keywords, address checks and
// dot-stuffing. Pure, any thread; every loop is bounded by its input.
#include "net/smtp/client_text.h"

#include <cstring>

#include "core/patterns.h"
#include "net/smtp/path.h"
#include "net/smtp/session_text.h"

namespace vmx::smtp {

bool Extensions::offers_auth(std::string_view mechanism) const noexcept {
    std::string_view list = auth_mechanisms;
    while (!list.empty()) {
        const std::size_t space = list.find(' ');
        if (iequals(list.substr(0, space), mechanism)) return true;
        if (space == std::string_view::npos) break;
        list.remove_prefix(space + 1);
    }
    return false;
}

namespace detail {
namespace {

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

}  // namespace

std::string clean_reply_text(std::string_view raw_lines) {
    const bool utf8 = is_valid_utf8(raw_lines);
    std::string text;
    text.reserve(raw_lines.size());
    for (const char ch : raw_lines) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '\n') text += ' ';
        else if (is_control(c) || (c >= 0x80 && !utf8)) text += '?';
        else text += ch;
    }
    return text;
}

void read_ehlo_keyword(std::string_view line, Extensions& ext) {
    line = trim_spaces(line);
    const std::size_t space = line.find(' ');
    std::string_view keyword = line.substr(0, space);
    const std::string_view params = space == std::string_view::npos ? std::string_view{} : trim_spaces(line.substr(space));
    if (iequals(keyword, "PIPELINING")) ext.pipelining = true;
    else if (iequals(keyword, "8BITMIME")) ext.eight_bit_mime = true;
    else if (iequals(keyword, "SMTPUTF8")) ext.smtputf8 = true;
    else if (iequals(keyword, "STARTTLS")) ext.starttls = true;
    else if (iequals(keyword, "ENHANCEDSTATUSCODES")) ext.enhanced_status_codes = true;
    else if (iequals(keyword, "CHUNKING")) ext.chunking = true;
    else if (iequals(keyword, "SIZE")) {
        ext.size = true;
        std::uint64_t bytes = 0;
        // RFC 1870: no number, or 0, announces no limit; a number we cannot read is treated so too.
        ext.size_bytes_max = parse_count(params, bytes) ? bytes : 0;
    } else if (iequals(keyword, "AUTH") || has_prefix_ci(keyword, "AUTH=")) {
        // "AUTH=PLAIN LOGIN" is the pre-RFC 4954 form some servers still send.
        std::string_view list = iequals(keyword, "AUTH") ? params : line.substr(5);
        ext.auth_mechanisms.clear();
        for (const char ch : list) {
            const bool word = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                              ch == '-' || ch == '_';
            if (word) ext.auth_mechanisms += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
            else if (!ext.auth_mechanisms.empty() && ext.auth_mechanisms.back() != ' ') ext.auth_mechanisms += ' ';
        }
        if (!ext.auth_mechanisms.empty() && ext.auth_mechanisms.back() == ' ') ext.auth_mechanisms.pop_back();
    }
}

bool sendable_address(std::string_view address, bool smtputf8) noexcept {
    if (address.size() > path_bytes_max) return false;
    if (!smtputf8 && !is_ascii(address)) return false;
    if (smtputf8 && !is_valid_utf8(address)) return false;
    bool quoted = false;
    for (const char ch : address) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_control(c) || ch == '<' || ch == '>') return false;
        if (ch == '"') quoted = !quoted;
        if (ch == ' ' && !quoted) return false;  // a space would end the path and start a parameter
    }
    return !quoted;
}

BodyFault stuff_body(std::string_view body, std::size_t line_bytes_max, std::string& out) {
    out.reserve(out.size() + body.size() + body.size() / 64 + 3);
    std::size_t pos = 0;
    while (pos < body.size()) {
        const void* lf_at = std::memchr(body.data() + pos, '\n', body.size() - pos);
        const std::size_t lf = lf_at == nullptr ? body.size() : static_cast<std::size_t>(static_cast<const char*>(lf_at) - body.data());
        std::string_view line = body.substr(pos, lf - pos);
        if (lf < body.size()) {
            if (line.empty() || line.back() != '\r') return BodyFault::bare_line_end;
            line.remove_suffix(1);
        }
        if (line.find('\r') != std::string_view::npos) return BodyFault::bare_line_end;
        if (line.size() > line_bytes_max) return BodyFault::line_too_long;
        if (!line.empty() && line.front() == '.') out += '.';
        out += line;
        out += "\r\n";
        pos = lf + 1;
    }
    out += ".\r\n";
    return BodyFault::none;
}

}  // namespace detail
}  // namespace vmx::smtp
