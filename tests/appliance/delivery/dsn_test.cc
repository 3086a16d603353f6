// Tests of appliance/delivery/dsn: the enhanced status of replies, the shape of a bounce and of a
// delay warning (headers, the three MIME parts, RFC 3464 fields), hostile replies and addresses
// (line limits, CRLF only, no injected lines), the copied header section and its cap, and refusals.
#include "appliance/delivery/dsn.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace vmx {
namespace {

constexpr std::string_view original_message =
    "From: Alice <alice@example.net>\r\n"
    "To: bob@example.org\r\n"
    "Subject: lunch\r\n"
    "\r\n"
    "SECRET BODY TEXT\r\n";

DsnInput bounce_input() {
    DsnInput in;
    in.reporting_mta = "mx.example.net";
    in.postmaster = "MAILER-DAEMON@mx.example.net";
    in.original_sender = "alice@example.net";
    in.queue_id = "O0100000007";
    in.arrival_unix = 1795404000;
    in.now_unix = 1795404492;
    in.original = original_message;
    in.message_id_domain = "mx.example.net";
    in.message_id_unique = "0123456789abcdef";
    DsnRecipient bob;
    bob.address = "bob@example.org";
    bob.reply = "550 5.1.1 <bob@example.org>: no such user";
    bob.remote_mta = "mx1.example.org";
    in.recipients.push_back(bob);
    return in;
}

std::string built(const DsnInput& in) {
    Result<std::string> dsn = build_dsn(in);
    EXPECT_TRUE(dsn.has_value());
    return dsn ? *dsn : std::string();
}

// True when every line ends in CRLF, no CR or LF stands alone, and no line passes 998 bytes.
bool well_formed_lines(std::string_view msg) {
    std::size_t start = 0;
    while (start < msg.size()) {
        const std::size_t eol = msg.find("\r\n", start);
        if (eol == std::string_view::npos) return false;
        const std::string_view line = msg.substr(start, eol - start);
        if (line.size() > 998 || line.find_first_of("\r\n") != std::string_view::npos) return false;
        start = eol + 2;
    }
    return true;
}

// RFC 5322 2.2.3: a line break followed by white space is folding.
std::string unfold(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text.substr(i, 3) == "\r\n " || text.substr(i, 3) == "\r\n\t") {
            i += 1;
            continue;
        }
        out += text[i];
    }
    return out;
}

struct Part {
    std::string headers;  // with their final CRLF
    std::string body;     // up to the CRLF that belongs to the next delimiter (RFC 2046 5.1.1)
};

// The body parts between "--boundary" lines, the boundary read from the top Content-Type.
std::vector<Part> parts_of(const std::string& msg) {
    const std::size_t at = msg.find("boundary=\"");
    if (at == std::string::npos) return {};
    const std::string boundary = msg.substr(at + 10, msg.find('"', at + 10) - (at + 10));
    const std::string delimiter = "\r\n--" + boundary;
    std::vector<Part> parts;
    std::size_t pos = msg.find(delimiter);
    while (pos != std::string::npos && msg.compare(pos + delimiter.size(), 2, "--") != 0) {
        const std::size_t start = pos + delimiter.size() + 2;
        const std::size_t next = msg.find(delimiter, start);
        if (next == std::string::npos) return {};  // no closing delimiter
        const std::string whole = msg.substr(start, next - start);
        const std::size_t blank = whole.find("\r\n\r\n");
        parts.push_back({whole.substr(0, blank + 2), whole.substr(blank + 4)});
        pos = next;
    }
    if (pos == std::string::npos || msg.substr(pos + delimiter.size()) != "--\r\n") return {};
    return parts;
}

std::string top_headers(const std::string& msg) { return msg.substr(0, msg.find("\r\n\r\n") + 2); }

bool has(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

TEST(DsnStatus, EnhancedStatusOfReplies) {
    EXPECT_EQ(enhanced_status_of("550 5.1.1 <bob@x>: no such user"), "5.1.1");
    EXPECT_EQ(enhanced_status_of("550-5.7.1 first line of several"), "5.7.1");
    EXPECT_EQ(enhanced_status_of("421 4.4.2"), "4.4.2");
    EXPECT_EQ(enhanced_status_of("552 5.3.123 big"), "5.3.123");
    EXPECT_EQ(enhanced_status_of("250 2.0.0 Ok"), "2.0.0");
    // No enhanced code: the class of the reply code alone.
    EXPECT_EQ(enhanced_status_of("451 try again later"), "4.0.0");
    EXPECT_EQ(enhanced_status_of("554"), "5.0.0");
    EXPECT_EQ(enhanced_status_of("550 5.1.1234 detail too long"), "5.0.0");
    EXPECT_EQ(enhanced_status_of("550 5.1.1: punctuation"), "5.0.0");
    EXPECT_EQ(enhanced_status_of("550 5..1 empty subject"), "5.0.0");
    // The class follows the reply code when they disagree.
    EXPECT_EQ(enhanced_status_of("550 4.2.2 mailbox full"), "5.2.2");
    // Not a reply code: our own reasons.
    EXPECT_EQ(enhanced_status_of("connection timed out"), "");
    EXPECT_EQ(enhanced_status_of(""), "");
    EXPECT_EQ(enhanced_status_of("55"), "");
    EXPECT_EQ(enhanced_status_of("5501 5.1.1 not a code"), "");
    EXPECT_EQ(enhanced_status_of("354 go ahead"), "");
}

// The whole bounce of one simple case, so that the layout can be read and reviewed.
TEST(Dsn, BounceGolden) {
    EXPECT_EQ(built(bounce_input()),
              "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
              "To: <alice@example.net>\r\n"
              "Subject: Undelivered Mail Returned to Sender\r\n"
              "Date: Mon, 23 Nov 2026 03:28:12 +0000 (UTC)\r\n"
              "Message-ID: <0123456789abcdef@mx.example.net>\r\n"
              "Auto-Submitted: auto-replied\r\n"
              "MIME-Version: 1.0\r\n"
              "Content-Type: multipart/report; report-type=delivery-status;\r\n"
              "\tboundary=\"=_dsn_0123456789abcdef\"\r\n"
              "\r\n"
              "This is a MIME-encapsulated message.\r\n"
              "\r\n"
              "--=_dsn_0123456789abcdef\r\n"
              "Content-Description: Notification\r\n"
              "Content-Type: text/plain; charset=us-ascii\r\n"
              "\r\n"
              "This is the mail system at mx.example.net.\r\n"
              "\r\n"
              "Your message could not be delivered to one or more recipients; the mail\r\n"
              "system has given up on them. The replies are below, and the headers of\r\n"
              "your message are attached.\r\n"
              "\r\n"
              "Queue id: O0100000007\r\n"
              "\r\n"
              "Not delivered:\r\n"
              "<bob@example.org>: host mx1.example.org said: 550 5.1.1 <bob@example.org>: no\r\n"  // 78 bytes
              " such user\r\n"
              "\r\n"
              "--=_dsn_0123456789abcdef\r\n"
              "Content-Description: Delivery report\r\n"
              "Content-Type: message/delivery-status\r\n"
              "\r\n"
              "Reporting-MTA: dns; mx.example.net\r\n"
              "Arrival-Date: Mon, 23 Nov 2026 03:20:00 +0000 (UTC)\r\n"
              "X-Vaultmx-Queue-Id: O0100000007\r\n"
              "\r\n"
              "Final-Recipient: rfc822; bob@example.org\r\n"
              "Action: failed\r\n"
              "Status: 5.1.1\r\n"
              "Remote-MTA: dns; mx1.example.org\r\n"
              "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: no such user\r\n"
              "Last-Attempt-Date: Mon, 23 Nov 2026 03:28:12 +0000 (UTC)\r\n"
              "\r\n"
              "--=_dsn_0123456789abcdef\r\n"
              "Content-Description: Undelivered Message Headers\r\n"
              "Content-Type: text/rfc822-headers\r\n"
              "\r\n"
              "From: Alice <alice@example.net>\r\n"
              "To: bob@example.org\r\n"
              "Subject: lunch\r\n"
              "\r\n"
              "--=_dsn_0123456789abcdef--\r\n");
}

TEST(Dsn, BounceStructure) {
    const std::string msg = built(bounce_input());
    EXPECT_TRUE(well_formed_lines(msg));
    EXPECT_FALSE(has(msg, "SECRET BODY TEXT"));  // the body never comes back
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[0].headers, "Content-Type: text/plain;"));
    EXPECT_TRUE(has(parts[1].headers, "Content-Type: message/delivery-status\r\n"));
    EXPECT_TRUE(has(parts[2].headers, "Content-Type: text/rfc822-headers\r\n"));
    // RFC 3464 2.1: per-message fields, then a block per recipient, separated by empty lines.
    EXPECT_TRUE(parts[1].body.starts_with("Reporting-MTA: dns; mx.example.net\r\nArrival-Date: "));
    EXPECT_EQ(parts[2].body, "From: Alice <alice@example.net>\r\nTo: bob@example.org\r\nSubject: lunch\r\n");
}

TEST(Dsn, DelayWarningFromOurOwnReason) {
    DsnInput in = bounce_input();
    in.recipients[0].failed = false;
    in.recipients[0].reply = "connection to mx1.example.org timed out";
    in.recipients[0].remote_mta.clear();
    const std::string msg = built(in);
    EXPECT_TRUE(has(top_headers(msg), "Subject: Delayed Mail (still being retried)\r\n"));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[0].body, "mail system will keep trying"));
    EXPECT_TRUE(has(parts[0].body, "Delayed, still being retried:\r\n<bob@example.org>: connection to"));
    EXPECT_FALSE(has(parts[0].body, "Not delivered:"));
    EXPECT_TRUE(has(parts[1].body, "Action: delayed\r\nStatus: 4.0.0\r\n"));
    EXPECT_FALSE(has(parts[1].body, "Remote-MTA:"));  // the failure was ours
    EXPECT_TRUE(has(parts[1].body, "Diagnostic-Code: X-Vaultmx; connection to mx1.example.org timed out\r\n"));
}

TEST(Dsn, MixedRecipientsAndStatuses) {
    DsnInput in = bounce_input();
    DsnRecipient carol{"carol@example.com", false, "", "451 4.7.1 greylisted, try later", "mx.example.com"};
    DsnRecipient dave{"dave@example.com", true, "5.4.4", "no MX or A record for example.com", ""};
    DsnRecipient erin{"erin@example.com", true, "", "", ""};  // no reply at all
    in.recipients.push_back(carol);
    in.recipients.push_back(dave);
    in.recipients.push_back(erin);
    const std::string msg = built(in);
    EXPECT_TRUE(has(top_headers(msg), "Subject: Undelivered Mail Returned to Sender\r\n"));
    EXPECT_TRUE(well_formed_lines(msg));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    const std::string& text = parts[0].body;
    EXPECT_LT(text.find("Not delivered:"), text.find("<bob@example.org>"));
    EXPECT_LT(text.find("<dave@example.com>"), text.find("Delayed, still being retried:"));
    EXPECT_LT(text.find("Delayed, still being retried:"), text.find("<carol@example.com>"));
    EXPECT_TRUE(has(text, "<erin@example.com>: status 5.0.0\r\n"));
    const std::string& report = parts[1].body;
    EXPECT_TRUE(has(report, "\r\n\r\nFinal-Recipient: rfc822; carol@example.com\r\nAction: delayed\r\n"
                            "Status: 4.7.1\r\nRemote-MTA: dns; mx.example.com\r\n"
                            "Diagnostic-Code: smtp; 451 4.7.1 greylisted, try later\r\n"));
    EXPECT_TRUE(has(report, "Final-Recipient: rfc822; dave@example.com\r\nAction: failed\r\nStatus: 5.4.4\r\n"
                            "Diagnostic-Code: X-Vaultmx; no MX or A record for example.com\r\n"));
    EXPECT_TRUE(has(report, "Final-Recipient: rfc822; erin@example.com\r\nAction: failed\r\nStatus: 5.0.0\r\n"
                            "Last-Attempt-Date: "));
}

// A server may send anything: long replies, several lines, control bytes, 8-bit bytes, and lines
// meant to become header fields of the bounce.
TEST(Dsn, HostileReplyStaysInItsField) {
    DsnInput in = bounce_input();
    std::string reply = "550-5.1.1 first line\r\n550 5.1.1 second line\r\nBcc: victim@example.com\r\n";
    reply += std::string(3000, 'x') + " tail\x01\x7f\xc3\xa9" + std::string(1, '\0') + "\n\r end";
    in.recipients[0].reply = reply;
    in.recipients[0].remote_mta = "mx1.example.org\r\nX-Injected: yes";
    const std::string msg = built(in);
    EXPECT_TRUE(well_formed_lines(msg));
    EXPECT_FALSE(has(msg, "\r\nBcc:"));
    EXPECT_FALSE(has(msg, "\r\nX-Injected:"));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[1].body, "Status: 5.1.1\r\n"));
    EXPECT_TRUE(has(parts[1].body, "Remote-MTA: dns; mx1.example.org??X-Injected: yes\r\n"));
    // The reply's lines are joined by a space and the whole is cut at dsn_reply_bytes_max.
    const std::string report = unfold(parts[1].body);
    const std::string joined =
        "550-5.1.1 first line 550 5.1.1 second line Bcc: victim@example.com " + std::string(3000, 'x');
    EXPECT_TRUE(has(report, "Diagnostic-Code: smtp; " + joined.substr(0, dsn_reply_bytes_max) + "\r\n"));
    for (char c : parts[1].body) EXPECT_LT(static_cast<unsigned char>(c), 0x80);  // the report part is 7bit
}

TEST(Dsn, ControlAndEightBitBytesBecomeQuestionMarks) {
    DsnInput in = bounce_input();
    in.recipients[0].reply = "550 5.7.1 bad\x01\x1f\x7f\xc3\xa9 end\r\n";
    const std::vector<Part> parts = parts_of(built(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[1].body, "Diagnostic-Code: smtp; 550 5.7.1 bad????? end\r\n"));
}

// RFC 6533: a UTF-8 recipient is written with the utf-8 address type in its 7-bit form; the human
// text names it as it is, in UTF-8.
TEST(Dsn, Utf8RecipientUsesTheUtf8AddressType) {
    DsnInput in = bounce_input();
    in.recipients[0].address = "j\xc3\xb6rg+tag@b\xc3\xbc" "cher.example";  // jörg+tag@bücher.example
    const std::string msg = built(in);
    EXPECT_TRUE(well_formed_lines(msg));
    EXPECT_TRUE(has(top_headers(msg), "Content-Transfer-Encoding: 8bit\r\n"));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[0].headers, "Content-Type: text/plain; charset=utf-8\r\n"
                                      "Content-Transfer-Encoding: 8bit\r\n"));
    EXPECT_TRUE(has(parts[0].body, "<j\xc3\xb6rg+tag@b\xc3\xbc" "cher.example>: host"));
    EXPECT_TRUE(has(parts[1].body, "Final-Recipient: utf-8; j\\x{F6}rg\\x{2B}tag@b\\x{FC}cher.example\r\n"));
    // An ASCII address keeps rfc822 and its "+" as it is.
    in.recipients[0].address = "bob+tag@example.org";
    EXPECT_TRUE(has(built(in), "Final-Recipient: rfc822; bob+tag@example.org\r\n"));
}

TEST(Dsn, Utf8AddressEdgeCases) {
    DsnInput in = bounce_input();
    // A four-byte sequence, and a byte that starts no valid sequence (U+FFFD).
    in.recipients[0].address = "\xf0\x9f\x93\xa7=\xff@example.org";
    const std::string msg = built(in);
    EXPECT_TRUE(has(msg, "Final-Recipient: utf-8; \\x{1F4E7}\\x{3D}\\x{FFFD}@example.org\r\n"));
}

// Found by dsn_fuzz: the 7-bit form spends up to 8 bytes per byte of address, so a 256-byte
// address made a Final-Recipient line of 2000 bytes. A valid address can pass 998 too: 64 '+' and
// a domain of 2-byte characters (253 bytes, 1062 written). Such an address is written as rfc822
// with '?' for its 8-bit bytes; the human text still names it exactly.
TEST(Dsn, Utf8AddressTooLongForItsSevenBitFormStaysWithinTheLineLimit) {
    DsnInput in = bounce_input();
    std::string label;
    for (int i = 0; i < 31; ++i) label += "\xc4\x81";  // 31 x U+0101: 62 bytes, "\x{101}" each
    const std::string address = std::string(64, '+') + "@" + label + "." + label + "." + label;
    ASSERT_EQ(address.size(), 253u);
    in.recipients[0].address = address;
    const std::string msg = built(in);
    EXPECT_TRUE(well_formed_lines(msg));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[0].body, "<" + address + ">: host"));
    std::string question(62, '?');
    EXPECT_TRUE(has(parts[1].body, "Final-Recipient: rfc822; " + std::string(64, '+') + "@" + question + "." +
                                       question + "." + question + "\r\n"));
    // The fuzzer's address: control bytes and bytes that start no UTF-8 sequence, 8 bytes each.
    in.recipients[0].address = "vxmeea@ple.or" + std::string(100, '\x15') + std::string(100, '\xd0');
    EXPECT_TRUE(well_formed_lines(built(in)));
    // One that fits keeps the utf-8 type.
    in.recipients[0].address = std::string(20, '+') + "@" + label;
    std::string xtext;
    for (int i = 0; i < 20; ++i) xtext += "\\x{2B}";
    xtext += "@";
    for (int i = 0; i < 31; ++i) xtext += "\\x{101}";
    EXPECT_TRUE(has(built(in), "Final-Recipient: utf-8; " + xtext + "\r\n"));
}

TEST(Dsn, HeaderSectionEndsAtTheEmptyLine) {
    DsnInput in = bounce_input();
    in.original = "Subject: no body, no empty line\r\nX-Last: unterminated";
    std::vector<Part> parts = parts_of(built(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].body, "Subject: no body, no empty line\r\nX-Last: unterminated\r\n");
    in.original = "\r\nbody only, no headers\r\n";
    parts = parts_of(built(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].body, "");
    EXPECT_FALSE(has(parts[0].body, "cut short"));
}

TEST(Dsn, HeaderSectionIsCutAtALineAndSaysSo) {
    DsnInput in = bounce_input();
    in.original_headers_bytes_max = 40;  // "From: ..." is 33 bytes with its CRLF, "To: ..." 21 more
    std::vector<Part> parts = parts_of(built(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].body, "From: Alice <alice@example.net>\r\n");
    EXPECT_TRUE(has(parts[0].body, "The attached headers are cut short after 33 bytes\r\n"));
    // A line the bounce could not carry as it is ends the copy too.
    const std::string original = "Subject: ok\r\nX-Long: " + std::string(2000, 'y') + "\r\nTo: x@y\r\n\r\nbody\r\n";
    in.original = original;
    in.original_headers_bytes_max = 64 * 1024;
    const std::string msg = built(in);
    EXPECT_TRUE(well_formed_lines(msg));
    parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].body, "Subject: ok\r\n");
    EXPECT_TRUE(has(parts[0].body, "cut short after 13 bytes"));
    in.original = "Subject: ok\r\nX-Bare: a\nb\r\n\r\n";
    parts = parts_of(built(in));
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[2].body, "Subject: ok\r\n");
}

TEST(Dsn, Utf8HeadersAreGlobalHeaders) {
    DsnInput in = bounce_input();
    in.original = "Subject: caf\xc3\xa9\r\n\r\nbody\r\n";
    const std::string msg = built(in);
    EXPECT_TRUE(has(top_headers(msg), "Content-Transfer-Encoding: 8bit\r\n"));
    const std::vector<Part> parts = parts_of(msg);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_TRUE(has(parts[2].headers, "Content-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n"));
    EXPECT_TRUE(has(parts[0].headers, "charset=us-ascii"));  // the human text itself stays ASCII
}

TEST(Dsn, Refusals) {
    const auto refused = [](const DsnInput& in) {
        Result<std::string> dsn = build_dsn(in);
        return !dsn && dsn.error() == std::errc::invalid_argument;
    };
    DsnInput in = bounce_input();
    in.recipients.clear();
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.original_sender.clear();
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.original_sender = std::string(dsn_address_bytes_max - 11, 'a') + "@example.org";  // one byte over
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.recipients[0].address.clear();
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.recipients[0].status = "5.1";
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.recipients[0].remote_mta = std::string(dsn_name_bytes_max + 1, 'm');
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.message_id_unique = "not-alnum";
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.message_id_unique = std::string(dsn_unique_bytes_max + 1, 'a');
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.reporting_mta = "mx example net";
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    in.message_id_domain.clear();
    EXPECT_TRUE(refused(in));
    // Original headers that hold the boundary would end a part early.
    in = bounce_input();
    in.original = "Subject: x\r\n--=_dsn_0123456789abcdef--\r\n\r\n";
    EXPECT_TRUE(refused(in));
    in = bounce_input();
    EXPECT_FALSE(refused(in));
}

}  // namespace
}  // namespace vmx
