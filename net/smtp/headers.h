// The header section of a submitted message (RFC 5322 2.2, 3.6): which fields submission cares
// about are present, and the addresses From: and Sender: name (RFC 6409 8.1). Pure function over
// the whole message; any thread. Reads only the header section, never more than section_bytes_max
// bytes, in time linear in what it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vmx::smtp {

struct HeaderLimits {
    std::size_t section_bytes_max = std::size_t{256} * 1024;  // the header section; a longer one is "too_long"
    std::size_t fields_max = 1000;               // header fields; more is "too_long"
    std::size_t addresses_max = 100;             // mailboxes in the From: fields (and in Sender:)
};

enum class HeaderProblem : std::uint8_t {
    none,
    too_long,   // a limit of HeaderLimits was passed
    malformed,  // a line neither a field nor a continuation (no colon, a bad name, a continuation
                // first), or a NUL or bare CR in the section
};

// On a problem, scanning stops at the line where it was found: the counts and addresses cover the
// fields before it, section_bytes is where that line starts, and a From: or Sender: still open
// there is marked unparsed. A caller reads problem first: the rest is then incomplete.
struct HeaderSummary {
    HeaderProblem problem = HeaderProblem::none;
    // Bytes of the header section including the empty line that ends it; 0 when the message starts
    // with the empty line; the whole message when there is no empty line.
    std::size_t section_bytes = 0;
    std::size_t from_fields = 0;
    std::size_t sender_fields = 0;
    std::size_t date_fields = 0;
    std::size_t message_id_fields = 0;
    std::size_t received_fields = 0;
    std::vector<std::string> from;    // addr-specs of every mailbox of the From: fields, in order
    std::vector<std::string> sender;  // the same for Sender:
    bool from_parsed = true;          // false when a From: value is not a mailbox-list, or the From:
                                      // fields together name more than addresses_max mailboxes
    bool sender_parsed = true;        // the same for Sender:
};

// message: the dot-unstuffed message, lines ending in CRLF (bare LF is tolerated). Field names
// match case-insensitively, also with obsolete whitespace before the colon ("From : x"); folded
// values are unfolded before From: and Sender: are parsed (net/smtp/address_list.h).
HeaderSummary scan_headers(std::string_view message, const HeaderLimits& limits);

}  // namespace vmx::smtp
