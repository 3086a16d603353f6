// Text helpers of the SMTP client engine (client.cc): reply text cleaning, EHLO keywords, address
// checks and dot-stuffing. Pure functions, any thread; internal to net/smtp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/smtp/client.h"

namespace vmx::smtp::detail {

// RFC 5321 4.5.3.1.3: a path is at most 256 bytes with its angle brackets.
inline constexpr std::size_t path_bytes_max = 254;

// Reply text for outcomes, bounces and logs: the '\n'-separated raw lines joined by a space, control
// bytes as '?', and every byte >= 0x80 as '?' too when the text is not valid UTF-8.
std::string clean_reply_text(std::string_view raw_lines);

// One line of an EHLO reply after the first ("SIZE 1000", "AUTH PLAIN LOGIN") into ext.
void read_ehlo_keyword(std::string_view line, Extensions& ext);

// An address we may put between angle brackets: no control bytes, no brackets, no spaces outside
// a quoted local part, ASCII unless the message is SMTPUTF8. Defends against command injection
// from a damaged queue entry; it is not a full RFC 5321 parse.
bool sendable_address(std::string_view address, bool smtputf8) noexcept;

enum class BodyFault : std::uint8_t {
    none,
    bare_line_end,  // a CR not before LF, or an LF not after CR (RFC 5321 2.3.8)
    line_too_long,  // a line over line_bytes_max without its CRLF (RFC 5321 4.5.3.1.6)
};

// Appends body dot-stuffed (RFC 5321 4.5.2) to out, ending with CRLF "." CRLF (a last line without
// CRLF gets one, RFC 5321 4.1.1.4). On a fault out is left partly written.
BodyFault stuff_body(std::string_view body, std::size_t line_bytes_max, std::string& out);

// The message size announced in SIZE= (RFC 1870: CRLF included, dot-stuffing not).
inline std::uint64_t message_size(std::string_view body) noexcept {
    const bool ends_crlf = body.empty() || (body.size() >= 2 && body.substr(body.size() - 2) == "\r\n");
    return body.size() + (ends_crlf ? 0 : 2);
}

}  // namespace vmx::smtp::detail
