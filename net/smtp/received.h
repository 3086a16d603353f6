// The Received: trace header (RFC 5321 4.4) that the caller prepends to an accepted message,
// written as Postfix writes it, TLS details included; for submission it records the login and may
// leave the client out (RFC 6409 leaves that to the MSA's privacy policy). Pure: the date is an input. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmx::smtp {

struct ReceivedInfo {
    std::string_view helo_name;       // as the client gave it (validated by the session)
    std::string_view client_name;     // verified reverse DNS name; empty or invalid -> "unknown"
    std::string_view client_address;  // IPv4 or IPv6 text; anything else -> "unknown"
    std::string_view hostname;        // this server
    std::string_view queue_id;        // empty: no "id" clause
    std::string_view recipient;       // the "for" clause; give it only when the message has one recipient
    std::string_view tls_version;     // e.g. "TLSv1.3"; empty: received without TLS
    std::string_view tls_cipher;      // e.g. "TLS_AES_256_GCM_SHA384"
    unsigned cipher_bits = 0;         // effective bits, e.g. 256
    unsigned cipher_alg_bits = 0;     // the algorithm's bits, e.g. 256
    bool esmtp = false;               // EHLO (not HELO) was used
    bool smtputf8 = false;            // MAIL ... SMTPUTF8
    bool authenticated = false;       // submission after AUTH: ESMTPSA (RFC 3848), "(authenticated sender)"
    bool hide_client = false;         // no from clause: neither the client's address nor its EHLO name
    std::int64_t date_unix = 0;       // arrival time, seconds since 1970 (written in UTC)
};

// "Received: from helo (name [addr])\r\n\t(using ...)\r\n\tby host (vaultmx) with ESMTPS id X\r\n\t
// for <rcpt>; Mon, 23 Nov 2026 03:28:12 +0000 (UTC)\r\n". Control bytes in any field become '?'.
std::string received_header(const ReceivedInfo& info);

// RFC 5322 date-time in UTC: "Mon, 23 Nov 2026 03:28:12 +0000 (UTC)".
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace vmx::smtp
