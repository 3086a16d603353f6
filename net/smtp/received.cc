// Formatting of the Received: header and its date. Pure; any thread.
#include "net/smtp/received.h"

#include <array>

#include "core/patterns.h"

namespace vmx::smtp {
namespace {

// A header must not gain a line break or control byte from a field (header injection).
void append_clean(std::string& out, std::string_view text) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u == 0x7f) ? '?' : c;
    }
}

void append_two_digits(std::string& out, unsigned v) {
    out += static_cast<char>('0' + v / 10);
    out += static_cast<char>('0' + v % 10);
}

// Days since 1970-01-01 to a proleptic Gregorian date (the era-based civil calendar algorithm).
void civil_from_days(std::int64_t days, std::int64_t& year, unsigned& month, unsigned& day) {
    days += 719468;
    const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    const auto doe = static_cast<unsigned>(days - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = doy - (153 * mp + 2) / 5 + 1;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

std::string_view protocol_name(const ReceivedInfo& info) {
    const bool tls = !info.tls_version.empty();
    if (info.authenticated) {  // RFC 3848 ESMTPA/ESMTPSA, RFC 6531 3.7.3 UTF8SMTPA/UTF8SMTPSA
        if (info.smtputf8) return tls ? "UTF8SMTPSA" : "UTF8SMTPA";
        return tls ? "ESMTPSA" : "ESMTPA";
    }
    if (info.smtputf8) return tls ? "UTF8SMTPS" : "UTF8SMTP";  // RFC 6531 3.7.3
    if (info.esmtp) return tls ? "ESMTPS" : "ESMTP";            // RFC 3848
    return tls ? "SMTPS" : "SMTP";
}

}  // namespace

std::string rfc5322_date(std::int64_t unix_seconds) {
    static constexpr std::array<std::string_view, 7> weekdays{"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::int64_t days = unix_seconds / 86400;
    std::int64_t secs = unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    std::int64_t year = 0;
    unsigned month = 1;
    unsigned day = 1;
    civil_from_days(days, year, month, day);
    std::string out;
    out.reserve(40);
    out += weekdays[static_cast<std::size_t>(((days % 7) + 7) % 7)];
    out += ", ";
    out += std::to_string(day);
    out += ' ';
    out += months[month - 1];
    out += ' ';
    out += std::to_string(year);
    out += ' ';
    append_two_digits(out, static_cast<unsigned>(secs / 3600));
    out += ':';
    append_two_digits(out, static_cast<unsigned>(secs / 60 % 60));
    out += ':';
    append_two_digits(out, static_cast<unsigned>(secs % 60));
    out += " +0000 (UTC)";
    return out;
}

std::string received_header(const ReceivedInfo& info) {
    const bool name_ok = matches(Pattern::domain, info.client_name);
    const bool addr_ok = matches(Pattern::ipv4, info.client_address) || matches(Pattern::ipv6, info.client_address);
    std::string out = "Received: ";
    if (info.hide_client) {
        // The from clause would name the client (its address, or an EHLO that is often one).
        out += "(authenticated sender)\r\n";
    } else {
        out += "from ";
        append_clean(out, info.helo_name);
        out += " (";
        out += name_ok ? info.client_name : std::string_view("unknown");
        out += " [";
        out += addr_ok ? info.client_address : std::string_view("unknown");
        out += "])\r\n";
        if (info.authenticated) out += "\t(authenticated sender)\r\n";
    }
    if (!info.tls_version.empty()) {
        out += "\t(using ";
        append_clean(out, info.tls_version);
        out += " with cipher ";
        append_clean(out, info.tls_cipher);
        out += " (" + std::to_string(info.cipher_bits) + "/" + std::to_string(info.cipher_alg_bits) + " bits))\r\n";
        out += "\t(No client certificate requested)\r\n";
    }
    out += "\tby ";
    append_clean(out, info.hostname);
    out += " (vaultmx) with ";
    out += protocol_name(info);
    if (!info.queue_id.empty()) {
        out += " id ";
        append_clean(out, info.queue_id);
    }
    out += "\r\n\t";
    if (!info.recipient.empty()) {
        out += "for <";
        append_clean(out, info.recipient);
        out += ">; ";
    }
    out += rfc5322_date(info.date_unix);
    out += "\r\n";
    return out;
}

}  // namespace vmx::smtp
