// The header scanner: the sections real clients send, field counts, folding, obsolete syntax, and
// the hostile cases (NUL, bare CR, lines that are not fields, a From: hidden in the body, limits).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/smtp/headers.h"

namespace vmx::smtp {
namespace {

using List = std::vector<std::string>;

HeaderSummary scan(std::string_view message) { return scan_headers(message, HeaderLimits{}); }

TEST(SmtpHeaders, ThunderbirdMessage) {
    const std::string headers =
        "Message-ID: <1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901@example.com>\r\n"
        "Date: Mon, 23 Nov 2026 10:01:02 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        "User-Agent: Mozilla Thunderbird\r\n"
        "Content-Language: en-US\r\n"
        "To: Bob <bob@example.org>\r\n"
        "From: Alice Example <alice@Example.COM>\r\n"
        "Subject: Hello\r\n"
        "Content-Type: text/plain; charset=UTF-8; format=flowed\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n";
    const HeaderSummary s = scan(headers + "Hi Bob,\r\n\r\nFrom: not a header\r\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_EQ(s.section_bytes, headers.size());
    EXPECT_EQ(s.from_fields, 1u);
    EXPECT_EQ(s.sender_fields, 0u);
    EXPECT_EQ(s.date_fields, 1u);
    EXPECT_EQ(s.message_id_fields, 1u);
    EXPECT_EQ(s.received_fields, 0u);
    EXPECT_EQ(s.from, List{"alice@example.com"});
    EXPECT_TRUE(s.from_parsed);
    EXPECT_TRUE(s.sender.empty());
    EXPECT_TRUE(s.sender_parsed);
}

TEST(SmtpHeaders, OutlookAndAppleMailShapes) {
    const HeaderSummary outlook = scan(
        "From: \"Doe, John\" <John.Doe@example.com>\r\n"
        "To: \"Roe, Jane\" <jane@example.org>\r\n"
        "Subject: =?utf-8?B?SGVsbG8=?=\r\n"
        "Thread-Topic: Hello\r\n"
        "Message-ID:\r\n <AM0PR01MB1234@AM0PR01MB1234.eurprd01.prod.outlook.com>\r\n"
        "\r\n"
        "body\r\n");
    EXPECT_EQ(outlook.problem, HeaderProblem::none);
    EXPECT_EQ(outlook.from, List{"John.Doe@example.com"});
    EXPECT_EQ(outlook.message_id_fields, 1u);
    EXPECT_EQ(outlook.date_fields, 0u);  // submission adds it (RFC 6409 8.2)

    const HeaderSummary apple = scan(
        "From: =?utf-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>\r\n"
        "Content-Type: text/plain;\r\n\tcharset=us-ascii\r\n"
        "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3731.500.231\\))\r\n"
        "Date: Tue, 1 Dec 2026 09:00:00 +0100\r\n"
        "\r\n");
    EXPECT_EQ(apple.problem, HeaderProblem::none);
    EXPECT_EQ(apple.from, List{"joerg@example.com"});
    EXPECT_EQ(apple.date_fields, 1u);
}

TEST(SmtpHeaders, MuttAndSwaksShapes) {
    const HeaderSummary mutt = scan("Date: x\r\nFrom: alice@example.com (Alice)\r\nSender: bob@example.com\r\n\r\n");
    EXPECT_EQ(mutt.from, List{"alice@example.com"});
    EXPECT_EQ(mutt.sender, List{"bob@example.com"});
    EXPECT_EQ(mutt.sender_fields, 1u);

    const HeaderSummary swaks = scan(
        "Date: Mon, 23 Nov 2026 10:01:02 +0000\r\nTo: b@x\r\nFrom: a@b\r\nSubject: test\r\n"
        "Message-Id: <20261123100102.012345@host>\r\nX-Mailer: swaks\r\n\r\nThis is a test mailing\r\n");
    EXPECT_EQ(swaks.from, List{"a@b"});
    EXPECT_EQ(swaks.message_id_fields, 1u);  // names match case-insensitively
}

TEST(SmtpHeaders, FoldedFromIsUnfolded) {
    const HeaderSummary s = scan("From: Alice\r\n Example\r\n\t<alice@example.com>,\r\n  bob@example.org\r\n\r\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_EQ(s.from, (List{"alice@example.com", "bob@example.org"}));
    EXPECT_TRUE(s.from_parsed);
}

TEST(SmtpHeaders, CountsEveryField) {
    const HeaderSummary s = scan(
        "Received: from a\r\n\tby b; Mon, 1 Jan 2026 00:00:00 +0000\r\n"
        "received: from c by d; x\r\n"
        "RECEIVED: x\r\n"
        "From: a@example.com\r\n"
        "FROM: b@example.com, c@example.com\r\n"
        "Sender: s@example.com\r\n"
        "date: x\r\nDate: y\r\n"
        "\r\n");
    EXPECT_EQ(s.received_fields, 3u);
    EXPECT_EQ(s.from_fields, 2u);
    EXPECT_EQ(s.from, (List{"a@example.com", "b@example.com", "c@example.com"}));
    EXPECT_EQ(s.sender_fields, 1u);
    EXPECT_EQ(s.date_fields, 2u);
    EXPECT_EQ(s.message_id_fields, 0u);
}

TEST(SmtpHeaders, ObsoleteWhitespaceBeforeColon) {
    const HeaderSummary s = scan("From : a@example.com\r\nDate\t: x\r\n\r\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_EQ(s.from_fields, 1u);
    EXPECT_EQ(s.date_fields, 1u);
    EXPECT_EQ(s.from, List{"a@example.com"});
}

TEST(SmtpHeaders, NamesThatOnlyLookAlike) {
    const HeaderSummary s = scan("From-Address: a@b\r\nX-From: c@d\r\nResent-From: e@f\r\nFro: g@h\r\n\r\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_EQ(s.from_fields, 0u);
    EXPECT_TRUE(s.from.empty());
}

TEST(SmtpHeaders, MissingFieldsAndEmptySections) {
    const HeaderSummary none = scan("Subject: x\r\n\r\nbody\r\n");
    EXPECT_EQ(none.from_fields + none.sender_fields + none.date_fields + none.message_id_fields, 0u);
    EXPECT_TRUE(none.from_parsed);
    EXPECT_EQ(none.section_bytes, 14u);

    const HeaderSummary no_headers = scan("\r\nFrom: evil@x\r\n");
    EXPECT_EQ(no_headers.problem, HeaderProblem::none);
    EXPECT_EQ(no_headers.section_bytes, 0u);
    EXPECT_EQ(no_headers.from_fields, 0u);

    const HeaderSummary empty = scan("");
    EXPECT_EQ(empty.problem, HeaderProblem::none);
    EXPECT_EQ(empty.section_bytes, 0u);

    const std::string only_headers = "From: a@b\r\nDate: x\r\n";  // no empty line, no body
    const HeaderSummary all = scan(only_headers);
    EXPECT_EQ(all.section_bytes, only_headers.size());
    EXPECT_EQ(all.from, List{"a@b"});
    EXPECT_EQ(scan("From: a@b").from, List{"a@b"});  // even without a final line end
}

TEST(SmtpHeaders, BodyFromDoesNotCount) {
    const HeaderSummary s = scan("From: me@example.com\r\nSubject: x\r\n\r\nFrom: evil@x\r\nSender: evil@x\r\n");
    EXPECT_EQ(s.from_fields, 1u);
    EXPECT_EQ(s.sender_fields, 0u);
    EXPECT_EQ(s.from, List{"me@example.com"});
    EXPECT_EQ(s.section_bytes, 36u);
}

TEST(SmtpHeaders, BareLfIsTolerated) {
    const HeaderSummary s = scan("From: a@b\nDate: x\n\nFrom: evil@x\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_EQ(s.from, List{"a@b"});
    EXPECT_EQ(s.date_fields, 1u);
    EXPECT_EQ(s.section_bytes, 19u);
}

TEST(SmtpHeaders, BadFromValues) {
    for (const std::string_view value : {"", " ", " Friends: a@b;", " <@r:a@b>", " a@b@c", " a@b junk",
                                         " <a@b", " \"a@b", " (a@b", " a@b, b"}) {
        SCOPED_TRACE(testing::PrintToString(std::string(value)));
        const HeaderSummary s = scan("From:" + std::string(value) + "\r\nSender: s@b\r\n\r\n");
        EXPECT_EQ(s.problem, HeaderProblem::none);  // the section is fine; the value is not
        EXPECT_EQ(s.from_fields, 1u);
        EXPECT_FALSE(s.from_parsed);
        EXPECT_TRUE(s.from.empty());
        EXPECT_EQ(s.sender, List{"s@b"});
    }
    const HeaderSummary second_bad = scan("From: a@b\r\nFrom: junk\r\n\r\n");
    EXPECT_EQ(second_bad.from, List{"a@b"});
    EXPECT_FALSE(second_bad.from_parsed);
    const HeaderSummary bad_sender = scan("From: a@b\r\nSender: a@b, c@d junk\r\n\r\n");
    EXPECT_TRUE(bad_sender.from_parsed);
    EXPECT_FALSE(bad_sender.sender_parsed);
}

TEST(SmtpHeaders, MalformedLines) {
    for (const std::string_view line : {"no colon here", "From a@b", ": empty name", "Fr\x01om: a@b",
                                        "Fröm: a@b", "[From]x: y", " leading continuation"}) {
        SCOPED_TRACE(testing::PrintToString(std::string(line)));
        const std::string before = line.front() == ' ' ? "" : "Date: x\r\n";
        const HeaderSummary s = scan(before + std::string(line) + "\r\nFrom: a@b\r\n\r\n");
        if (line == "[From]x: y") {  // brackets are ftext: an odd but valid name
            EXPECT_EQ(s.problem, HeaderProblem::none);
            continue;
        }
        EXPECT_EQ(s.problem, HeaderProblem::malformed);
        EXPECT_EQ(s.section_bytes, before.size());
        EXPECT_EQ(s.from_fields, 0u);  // scanning stopped at the bad line
    }
}

TEST(SmtpHeaders, NulAndBareCr) {
    const HeaderSummary nul = scan(std::string("Subject: a\0b\r\nFrom: a@b\r\n\r\n", 27));
    EXPECT_EQ(nul.problem, HeaderProblem::malformed);
    EXPECT_EQ(nul.from_fields, 0u);

    const HeaderSummary nul_in_from = scan(std::string("From: a@b\0\r\n\r\n", 14));
    EXPECT_EQ(nul_in_from.problem, HeaderProblem::malformed);
    EXPECT_EQ(nul_in_from.from_fields, 0u);  // the bad line is not a field at all

    // A bare CR could end a line for one reader and not another: "Subject: x\rFrom: evil@x".
    const HeaderSummary cr = scan("Subject: x\rFrom: evil@x\r\n\r\n");
    EXPECT_EQ(cr.problem, HeaderProblem::malformed);
    EXPECT_EQ(cr.from_fields, 0u);
    EXPECT_EQ(scan("From: a@b\r\r\n\r\n").problem, HeaderProblem::malformed);
    EXPECT_EQ(scan("From: a@b\r").problem, HeaderProblem::malformed);

    // In the body they are none of our business.
    EXPECT_EQ(scan(std::string("From: a@b\r\n\r\n\0\r", 15)).problem, HeaderProblem::none);
}

TEST(SmtpHeaders, FoldedValueKeepsBeingTheSameField) {
    // A continuation line that looks like a field is still part of the value before it.
    const HeaderSummary s = scan("Subject: hello\r\n From: evil@x\r\nFrom: a@b\r\n\r\n");
    EXPECT_EQ(s.from_fields, 1u);
    EXPECT_EQ(s.from, List{"a@b"});
}

TEST(SmtpHeaders, SectionTooLong) {
    HeaderLimits limits;
    limits.section_bytes_max = 64;
    const std::string fits = "From: a@b\r\nSubject: " + std::string(40, 'x') + "\r\n\r\n";
    ASSERT_EQ(fits.size(), 64u);
    const HeaderSummary ok = scan_headers(fits + "body that is longer than the limit\r\n", limits);
    EXPECT_EQ(ok.problem, HeaderProblem::none);
    EXPECT_EQ(ok.section_bytes, 64u);

    const std::string one_over = "From: a@b\r\nSubject: " + std::string(41, 'x') + "\r\n\r\n";
    const HeaderSummary too_long = scan_headers(one_over, limits);
    EXPECT_EQ(too_long.problem, HeaderProblem::too_long);
    EXPECT_EQ(too_long.section_bytes, 63u);  // where the empty line, which no longer fits, starts

    const std::string crossing = "From: a@b\r\nSubject: " + std::string(60, 'x') + "\r\n\r\n";
    const HeaderSummary cut_line = scan_headers(crossing, limits);
    EXPECT_EQ(cut_line.problem, HeaderProblem::too_long);
    EXPECT_EQ(cut_line.section_bytes, 11u);
    EXPECT_FALSE(cut_line.from_parsed);  // still open when scanning stopped: not trusted

    const HeaderSummary no_end = scan_headers(std::string(1 << 20, 'x'), limits);  // one endless line
    EXPECT_EQ(no_end.problem, HeaderProblem::too_long);
    EXPECT_EQ(no_end.section_bytes, 0u);

    // A From: cut by the limit is not trusted.
    const HeaderSummary cut = scan_headers("From: a@b,\r\n " + std::string(100, 'x') + "@c\r\n\r\n", limits);
    EXPECT_EQ(cut.problem, HeaderProblem::too_long);
    EXPECT_FALSE(cut.from_parsed);
}

TEST(SmtpHeaders, TooManyFields) {
    HeaderLimits limits;
    limits.fields_max = 3;
    EXPECT_EQ(scan_headers("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).problem, HeaderProblem::none);
    const HeaderSummary s = scan_headers("A: 1\r\nB: 2\r\nC: 3\r\nFrom: a@b\r\n\r\n", limits);
    EXPECT_EQ(s.problem, HeaderProblem::too_long);
    EXPECT_EQ(s.section_bytes, 18u);
    EXPECT_EQ(s.from_fields, 0u);

    std::string flood;
    for (int i = 0; i < 1001; ++i) flood += "X: y\r\n";
    EXPECT_EQ(scan(flood + "\r\n").problem, HeaderProblem::too_long);
}

TEST(SmtpHeaders, TooManyAddresses) {
    HeaderLimits limits;
    limits.addresses_max = 3;
    EXPECT_EQ(scan_headers("From: a@b, c@d, e@f\r\n\r\n", limits).from.size(), 3u);
    const HeaderSummary one_field = scan_headers("From: a@b, c@d, e@f, g@h\r\n\r\n", limits);
    EXPECT_FALSE(one_field.from_parsed);
    EXPECT_TRUE(one_field.from.empty());
    // The limit holds for the From: fields together.
    const HeaderSummary two_fields = scan_headers("From: a@b, c@d\r\nFrom: e@f, g@h\r\n\r\n", limits);
    EXPECT_FALSE(two_fields.from_parsed);
    EXPECT_EQ(two_fields.from, (List{"a@b", "c@d"}));
    EXPECT_EQ(two_fields.problem, HeaderProblem::none);
}

TEST(SmtpHeaders, DeeplyNestedComments) {
    const HeaderSummary s = scan("From: a@b " + std::string(10000, '(') + std::string(10000, ')') + "\r\n\r\n");
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_FALSE(s.from_parsed);
}

TEST(SmtpHeaders, LongSectionInLinearTime) {
    // 256 KiB of folded From: value: one pass, no quadratic unfolding or re-scanning.
    std::string message = "From: a@b";
    while (message.size() < 250 * 1024) message += ",\r\n a@b";
    message += "\r\n\r\n";
    HeaderLimits limits;
    limits.addresses_max = 1u << 20;
    const HeaderSummary s = scan_headers(message, limits);
    EXPECT_EQ(s.problem, HeaderProblem::none);
    EXPECT_TRUE(s.from_parsed);
    EXPECT_GT(s.from.size(), 30000u);
}

}  // namespace
}  // namespace vmx::smtp
