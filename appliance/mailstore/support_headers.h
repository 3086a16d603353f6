// The three header fields the support view shows of a message (`vaultmx support mailbox`): From:,
// Subject: and Date:, read from the start of a stored message. Pure functions over bytes that may
// be hostile (a message is whatever a stranger sent): they read at most section_bytes_max bytes,
// never stop on a malformed line (it is skipped, as a reader would), and cost time linear in what
// they read. Encoded words (RFC 2047) are left as written: decoding is not worth a parser here.
// Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmx {

struct SupportHeaderLimits {
    std::size_t section_bytes_max = std::size_t{64} * 1024;  // bytes of the message looked at
    std::size_t value_bytes_max = 1000;                      // of one field's value, after unfolding
};

struct SupportHeaders {
    // The first From: and Subject: fields (RFC 5322 3.6 allows one each): unfolded (RFC 5322 2.2.3),
    // every run of white space one space, trimmed, made display-safe (common/display_text.h: NUL,
    // controls and malformed UTF-8 become '?'), cut to value_bytes_max. Absent: no such field.
    std::optional<std::string> from;
    std::optional<std::string> subject;
    // The first Date: field as UTC unix seconds; absent when there is none or it is not a date.
    std::optional<std::int64_t> date_unix;
    // The empty line that ends the header section was found within section_bytes_max.
    bool section_complete = false;
};

// `head`: the first bytes of a message as stored (lines end in CRLF; a bare LF is accepted too).
SupportHeaders read_support_headers(std::string_view head, const SupportHeaderLimits& limits = {});

// RFC 5322 3.3 date-time, obsolete forms included (two-digit years, zone names such as "GMT" and
// "PDT", comments anywhere); a time that does not exist (31 Feb, 25:00) is refused.
std::optional<std::int64_t> parse_message_date(std::string_view value);

// Where the header section of `head` ends (just past its empty line), if it does within `head`.
std::optional<std::size_t> header_section_end(std::string_view head);

}  // namespace vmx
