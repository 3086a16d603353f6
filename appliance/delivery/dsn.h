// Delivery status notifications (bounces and delay warnings): an RFC 3464 report in an RFC 6522
// multipart/report, built from values. Pure: no I/O, no clock (the caller passes the times), any
// thread. Invariants of the result: CRLF line endings only, no line over 998 bytes (RFC 5322 2.1.1),
// no bytes of the original message body, the report part 7bit as RFC 3464 requires.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmx {

// Limits on the inputs. A longer name or address is refused (the SMTP session never accepts one,
// so it is a caller's bug); a longer reply is cut, since any server may send one.
inline constexpr std::size_t dsn_address_bytes_max = 256;  // RFC 5321 4.5.3.1.3: a path with its <>
inline constexpr std::size_t dsn_name_bytes_max = 255;     // host names, queue id (RFC 1035 2.3.4)
inline constexpr std::size_t dsn_reply_bytes_max = 900;    // one unbroken word still fits a 998-byte line
inline constexpr std::size_t dsn_unique_bytes_max = 64;    // the Message-ID token, inside a 70-byte boundary

struct DsnRecipient {
    std::string address;     // the original forward-path (RFC 5321 mailbox), UTF-8 under SMTPUTF8
    bool failed = true;      // failed for good (Action: failed), else still retried (Action: delayed)
    std::string status;      // enhanced status "5.1.1"; empty: taken from the reply (enhanced_status_of)
    std::string reply;       // the remote server's reply or our own reason: "550 5.1.1 <bob@x>: no such user"
    std::string remote_mta;  // host the reply came from; empty when the failure was ours (DNS, timeout...)
};

struct DsnInput {
    std::string reporting_mta;             // our host name (Reporting-MTA: dns; NAME)
    std::string postmaster;                // the bounce's From: address, e.g. "MAILER-DAEMON@host"
    std::string original_sender;           // the envelope sender the DSN goes to (To:); never empty
    std::string queue_id;                  // ours: in the human text and X-Vaultmx-Queue-Id; may be empty
    std::int64_t arrival_unix = 0;         // Arrival-Date
    std::int64_t now_unix = 0;             // Date: and each recipient's Last-Attempt-Date
    std::vector<DsnRecipient> recipients;  // 1..n, in the order they are reported
    std::string_view original;             // the original message (CRLF); only its header section is used
    std::size_t original_headers_bytes_max = std::size_t{64} * 1024;  // the copied header section is cut at a line here
    std::string message_id_domain;         // Message-ID: <unique@domain>
    std::string message_id_unique;         // random letters and digits from the caller, 1..64: the
                                           // Message-ID's left side and the MIME boundary
};

// The complete message (headers and body, CRLF), ready to queue for original_sender. Refused with
// std::errc::invalid_argument: no recipients, an empty sender, postmaster or recipient address, an
// input over its limit above, a reporting_mta or message_id_domain that is not a domain, a unique
// token that is not letters and digits, or original headers that contain the MIME boundary.
Result<std::string> build_dsn(const DsnInput& input);

// The RFC 3463 enhanced status of an SMTP reply: "550 5.1.1 no such user" -> "5.1.1"; a reply code
// without one -> "5.0.0" / "4.0.0" / "2.0.0" by its first digit; text without a reply code -> "".
// The class always follows the reply code (RFC 3463 2: they must agree; the code is what SMTP acts on).
std::string enhanced_status_of(std::string_view reply);

}  // namespace vmx
