// Building delivery status notifications (see dsn.h). Pure; any thread. Every line written here is
// either fixed text, a field checked against its limit in dsn.h, a Final-Recipient checked as it is
// written, or folded by append_folded, which is how the 998-byte line limit holds for input of any
// shape.
#include "appliance/delivery/dsn.h"

#include <algorithm>
#include <utility>

#include "core/patterns.h"
#include "net/smtp/received.h"

namespace vmx {
namespace {

constexpr std::size_t fold_bytes = 78;         // RFC 5322 2.1.1: lines SHOULD stay within 78
constexpr std::size_t line_bytes_max = 998;    // RFC 5322 2.1.1: lines MUST stay within 998
constexpr std::string_view crlf = "\r\n";

// Which bytes a cleaned field keeps: the report part and replies are 7bit (RFC 3464 2.1.1); the
// human text and the To: header may carry UTF-8 addresses (RFC 6532).
enum class Keep { ascii, utf8 };

// A field never brings a line break or control byte into the message (header injection).
void append_clean(std::string& out, std::string_view text, Keep keep) {
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        const bool bad = u < 0x20 || u == 0x7f || (u >= 0x80 && keep == Keep::ascii);
        out += bad ? '?' : c;
    }
}

// A multi-line SMTP reply reads as one line, as Postfix shows it; it is cut at the limit, since a
// server may send any length.
std::string clean_reply(std::string_view reply) {
    std::string joined;
    for (std::size_t i = 0; i < reply.size() && joined.size() < dsn_reply_bytes_max; ++i) {
        if (reply[i] == '\r' && i + 1 < reply.size() && reply[i + 1] == '\n') {
            joined += ' ';
            ++i;
        } else {
            joined += reply[i];
        }
    }
    std::string out;
    append_clean(out, joined, Keep::ascii);
    return out;
}

// Writes `first` then the words of `text`, folding before a word that would pass fold_bytes: the
// separating space becomes CRLF SP, which unfolding undoes (RFC 5322 2.2.3). A continuation line
// holds one word at least, so no line passes max(first, 1 + longest word), both bounded in dsn.h.
void append_folded(std::string& out, std::string_view first, std::string_view text) {
    out += first;
    std::size_t line_bytes = first.size();
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t end = std::min(text.find(' ', pos), text.size());
        const std::string_view word = text.substr(pos, end - pos);
        pos = end + 1;
        if (word.empty()) continue;
        if (line_bytes + 1 + word.size() > fold_bytes) {
            out += crlf;
            line_bytes = 0;
        }
        out += ' ';
        out += word;
        line_bytes += 1 + word.size();
    }
    out += crlf;
}

void append_hex(std::string& out, std::uint32_t v) {
    static constexpr std::string_view digits = "0123456789ABCDEF";
    char buf[8];
    std::size_t n = 0;
    do {
        buf[n++] = digits[v & 0xf];
        v >>= 4;
    } while (v != 0);
    if (n == 1) buf[n++] = '0';  // HEXPOINT has two digits at least
    while (n > 0) out += buf[--n];
}

// The code point at text[i] and its length in bytes; a byte that starts no valid sequence is U+FFFD.
std::pair<std::uint32_t, std::size_t> next_code_point(std::string_view text, std::size_t i) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) return {lead, 1};
    const std::size_t n = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 0;
    if (n == 0 || i + n > text.size() || !is_valid_utf8(text.substr(i, n))) return {0xfffd, 1};
    std::uint32_t cp = lead & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    return {cp, n};
}

// RFC 6533 3: the utf-8 address type in its 7-bit form (utf-8-addr-xtext), the only form allowed in
// message/delivery-status. What is not QCHAR (non-ASCII, controls, space, "+", "=", "\") becomes
// \x{HEX}, uppercase without leading zeros.
void append_utf8_xtext(std::string& out, std::string_view address) {
    for (std::size_t i = 0; i < address.size();) {
        const auto [cp, n] = next_code_point(address, i);
        i += n;
        if (cp > 0x20 && cp < 0x7f && cp != '+' && cp != '=' && cp != '\\') {
            out += static_cast<char>(cp);
            continue;
        }
        out += "\\x{";
        append_hex(out, cp);
        out += '}';
    }
}

bool is_status(std::string_view s) {
    // RFC 3463 2: class "." subject "." detail, class 2, 4 or 5, subject and detail 1 to 3 digits.
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    const std::size_t dot = s.find('.', 2);
    auto digits = [](std::string_view d) {
        const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
        return !d.empty() && d.size() <= 3 && std::all_of(d.begin(), d.end(), is_digit);
    };
    return dot != std::string_view::npos && digits(s.substr(2, dot - 2)) && digits(s.substr(dot + 1));
}

bool is_8bit(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool is_alnum(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
}

// RFC 3464 2.3.2. A UTF-8 address goes in RFC 6533's 7-bit form, which spends up to 8 bytes per
// byte of address (a '+' or '=' is "\x{2B}", a 2-byte character "\x{7FF}"): an address that would
// pass the line limit that way (254 valid bytes can) is written as rfc822 with '?' for its 8-bit
// bytes, so the report still parses and travels; the notification text names it exactly.
void append_final_recipient(std::string& out, std::string_view address) {
    constexpr std::string_view utf8_field = "Final-Recipient: utf-8; ";
    if (is_8bit(address)) {
        std::string xtext;
        append_utf8_xtext(xtext, address);
        if (utf8_field.size() + xtext.size() <= line_bytes_max) {
            out += utf8_field;
            out += xtext;
            return;
        }
    }
    out += "Final-Recipient: rfc822; ";
    append_clean(out, address, Keep::ascii);
}

// The original's header section as it may be copied: up to the empty line that ends it (RFC 5322
// 2.1) or all the text, cut at the last whole line within bytes_max and before the first line that
// cannot be copied as it is (over 998 bytes; a bare CR, LF or NUL). `text` may lack a final CRLF.
struct HeaderCopy {
    std::string_view text;
    bool cut = false;
};

HeaderCopy header_section(std::string_view original, std::size_t bytes_max) {
    std::string_view section = original;
    if (section.starts_with(crlf)) return {};
    if (const std::size_t blank = section.find("\r\n\r\n"); blank != std::string_view::npos) {
        section = section.substr(0, blank + 2);
    }
    std::size_t kept = 0;
    while (kept < section.size()) {
        const std::size_t eol = std::min(section.find(crlf, kept), section.size());
        const std::string_view line = section.substr(kept, eol - kept);
        const std::size_t next = eol + 2;  // past the CRLF, or the one the caller adds to a last line
        constexpr std::string_view breaking("\r\n\0", 3);
        const bool copyable = line.size() <= line_bytes_max && line.find_first_of(breaking) == std::string_view::npos;
        if (!copyable || next > bytes_max) return {section.substr(0, kept), true};
        kept = std::min(next, section.size());
    }
    return {section, false};
}

// Everything that would break a line limit or an invariant is refused before anything is written.
bool acceptable(const DsnInput& in) {
    if (in.recipients.empty() || in.original_sender.empty() || in.postmaster.empty()) return false;
    if (in.original_sender.size() > dsn_address_bytes_max || in.postmaster.size() > dsn_address_bytes_max) return false;
    if (in.queue_id.size() > dsn_name_bytes_max) return false;
    if (!matches(Pattern::domain, in.reporting_mta) || !matches(Pattern::domain, in.message_id_domain)) return false;
    if (in.message_id_unique.empty() || in.message_id_unique.size() > dsn_unique_bytes_max) return false;
    if (!is_alnum(in.message_id_unique)) return false;
    return std::all_of(in.recipients.begin(), in.recipients.end(), [](const DsnRecipient& r) {
        return !r.address.empty() && r.address.size() <= dsn_address_bytes_max &&
               r.remote_mta.size() <= dsn_name_bytes_max && (r.status.empty() || is_status(r.status));
    });
}

std::string status_of(const DsnRecipient& r) {
    if (!r.status.empty()) return r.status;
    std::string status = enhanced_status_of(r.reply);
    // Our own reason has no reply code, and a success code cannot describe a failure.
    if (status.empty() || status[0] == '2') status = r.failed ? "5.0.0" : "4.0.0";
    return status;
}

// What the message holds besides the fixed text, worked out once.
struct Parts {
    std::string boundary;
    HeaderCopy headers;
    bool any_failed = false;
    bool any_delayed = false;
    bool text_8bit = false;     // a UTF-8 recipient address in the human text
    bool headers_8bit = false;  // UTF-8 original headers (RFC 6532): message/global-headers
};

void append_top_headers(std::string& out, const DsnInput& in, const Parts& p) {
    out += "From: Mail Delivery System <";
    append_clean(out, in.postmaster, Keep::utf8);
    out += ">\r\nTo: <";
    append_clean(out, in.original_sender, Keep::utf8);
    out += ">\r\nSubject: ";
    out += p.any_failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)";
    out += "\r\nDate: " + smtp::rfc5322_date(in.now_unix);
    out += "\r\nMessage-ID: <" + in.message_id_unique + "@" + in.message_id_domain + ">";
    out += "\r\nAuto-Submitted: auto-replied\r\n";  // RFC 3834 5: no auto-reply may answer this one
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + p.boundary + "\"\r\n";
    // RFC 2045 6.4: a multipart is labelled as its widest part.
    if (p.text_8bit || p.headers_8bit) out += "Content-Transfer-Encoding: 8bit\r\n";
    out += "\r\nThis is a MIME-encapsulated message.\r\n";
}

void append_recipient_text(std::string& out, const DsnRecipient& r) {
    std::string first = "<";
    append_clean(first, r.address, Keep::utf8);
    first += ">:";
    if (!r.remote_mta.empty()) {
        first += " host ";
        append_clean(first, r.remote_mta, Keep::ascii);
        first += " said:";
    }
    const std::string reply = clean_reply(r.reply);
    append_folded(out, first, reply.empty() ? "status " + status_of(r) : reply);
}

void append_text_part(std::string& out, const DsnInput& in, const Parts& p) {
    out += "\r\n--" + p.boundary + "\r\nContent-Description: Notification\r\n";
    out += p.text_8bit ? "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
                       : "Content-Type: text/plain; charset=us-ascii\r\n";
    out += "\r\nThis is the mail system at " + in.reporting_mta + ".\r\n\r\n";
    if (p.any_failed) {
        out += "Your message could not be delivered to one or more recipients; the mail\r\n"
               "system has given up on them. The replies are below, and the headers of\r\n"
               "your message are attached.\r\n";
    } else {
        out += "Your message has not yet been delivered to one or more recipients. The\r\n"
               "mail system will keep trying; you need not send it again. The replies so\r\n"
               "far are below, and the headers of your message are attached.\r\n";
    }
    if (!in.queue_id.empty()) {
        out += "\r\nQueue id: ";
        append_clean(out, in.queue_id, Keep::ascii);
        out += crlf;
    }
    for (const bool failed : {true, false}) {
        if (!(failed ? p.any_failed : p.any_delayed)) continue;
        out += failed ? "\r\nNot delivered:\r\n" : "\r\nDelayed, still being retried:\r\n";
        for (const DsnRecipient& r : in.recipients) {
            if (r.failed == failed) append_recipient_text(out, r);
        }
    }
    if (p.headers.cut) {
        out += "\r\nThe attached headers are cut short after " + std::to_string(p.headers.text.size()) +
               " bytes\r\n(whole lines), to keep this report small.\r\n";
    }
}

// RFC 3464 2.2 and 2.3: the per-message fields, then one block per recipient.
void append_report_part(std::string& out, const DsnInput& in, const Parts& p) {
    out += "\r\n--" + p.boundary + "\r\nContent-Description: Delivery report\r\n";
    out += "Content-Type: message/delivery-status\r\n\r\n";
    out += "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
    out += "Arrival-Date: " + smtp::rfc5322_date(in.arrival_unix) + "\r\n";
    if (!in.queue_id.empty()) {
        out += "X-Vaultmx-Queue-Id: ";  // an extension field (RFC 3464 2.2)
        append_clean(out, in.queue_id, Keep::ascii);
        out += crlf;
    }
    const std::string attempt_date = smtp::rfc5322_date(in.now_unix);
    for (const DsnRecipient& r : in.recipients) {
        out += crlf;
        append_final_recipient(out, r.address);
        out += r.failed ? "\r\nAction: failed\r\n" : "\r\nAction: delayed\r\n";
        out += "Status: " + status_of(r) + "\r\n";
        const std::string reply = clean_reply(r.reply);
        if (!r.remote_mta.empty()) {
            out += "Remote-MTA: dns; ";
            append_clean(out, r.remote_mta, Keep::ascii);
            out += crlf;
            if (!reply.empty()) append_folded(out, "Diagnostic-Code: smtp;", reply);
        } else if (!reply.empty()) {
            append_folded(out, "Diagnostic-Code: X-Vaultmx;", reply);  // our own reason: not an SMTP reply
        }
        out += "Last-Attempt-Date: " + attempt_date + "\r\n";
    }
}

// RFC 6522 3: text/rfc822-headers; RFC 6533 6.3: message/global-headers when they hold UTF-8.
void append_headers_part(std::string& out, const Parts& p) {
    out += "\r\n--" + p.boundary + "\r\nContent-Description: Undelivered Message Headers\r\n";
    out += p.headers_8bit ? "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n"
                          : "Content-Type: text/rfc822-headers\r\n";
    out += crlf;
    out += p.headers.text;
    if (!p.headers.text.empty() && !p.headers.text.ends_with(crlf)) out += crlf;
    out += "\r\n--" + p.boundary + "--\r\n";
}

}  // namespace

std::string enhanced_status_of(std::string_view reply) {
    const auto digit = [&](std::size_t i) { return i < reply.size() && reply[i] >= '0' && reply[i] <= '9'; };
    if (!digit(0) || !digit(1) || !digit(2)) return {};
    if (reply.size() > 3 && reply[3] != ' ' && reply[3] != '-') return {};  // "5501": not a reply code
    const char cls = reply[0];
    if (cls != '2' && cls != '4' && cls != '5') return {};
    if (reply.size() > 4) {
        const std::string_view rest = reply.substr(4);
        const std::string_view word = rest.substr(0, std::min(rest.find(' '), rest.size()));
        if (is_status(word)) return std::string(1, cls) + std::string(word.substr(1));
    }
    return std::string(1, cls) + ".0.0";
}

Result<std::string> build_dsn(const DsnInput& in) {
    if (!acceptable(in)) return fail(std::make_error_code(std::errc::invalid_argument));
    Parts p;
    p.boundary = "=_dsn_" + in.message_id_unique;  // "=_" never occurs in base64 or quoted-printable
    p.headers = header_section(in.original, in.original_headers_bytes_max);
    // The copied headers are the only text a sender controls that can start a line with "--".
    if (p.headers.text.find("--" + p.boundary) != std::string_view::npos) {
        return fail(std::make_error_code(std::errc::invalid_argument));
    }
    for (const DsnRecipient& r : in.recipients) {
        (r.failed ? p.any_failed : p.any_delayed) = true;
        p.text_8bit = p.text_8bit || is_8bit(r.address);
    }
    p.headers_8bit = is_8bit(p.headers.text);
    std::string out;
    out.reserve(4096 + p.headers.text.size() + in.recipients.size() * 512);
    append_top_headers(out, in, p);
    append_text_part(out, in, p);
    append_report_part(out, in, p);
    append_headers_part(out, p);
    return out;
}

}  // namespace vmx
