// The support view's header fields (appliance/mailstore/support_headers.h): folded, missing, huge
// and repeated fields, NULs, controls and 8-bit bytes, encoded words left as written, bare LF, the
// section limit, and RFC 5322 dates with their obsolete forms.
#include "appliance/mailstore/support_headers.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx {
namespace {

using namespace std::string_literals;

TEST(SupportHeaders, TakesTheThreeFieldsOfAPlainMessage) {
    const auto h = read_support_headers(
        "Received: from x\r\nFrom: Ann <ann@example.test>\r\nSubject: Hello there\r\n"
        "Date: Mon, 1 Jun 2026 10:00:00 +0200\r\n\r\nFrom: body@example.test\r\nSubject: not a header\r\n");
    ASSERT_TRUE(h.from);
    EXPECT_EQ(*h.from, "Ann <ann@example.test>");
    ASSERT_TRUE(h.subject);
    EXPECT_EQ(*h.subject, "Hello there");
    ASSERT_TRUE(h.date_unix);
    EXPECT_EQ(*h.date_unix, 1'780'308'000 - 2 * 3600);  // 2026-06-01T10:00:00+02:00
    EXPECT_TRUE(h.section_complete);
}

TEST(SupportHeaders, UnfoldsFoldedFields) {
    const auto h = read_support_headers(
        "Subject: a long\r\n   subject\r\n\tfolded twice\r\nfrom:\r\n ann@example.test\r\n\r\n");
    EXPECT_EQ(h.subject.value_or("?"), "a long subject folded twice");
    EXPECT_EQ(h.from.value_or("?"), "ann@example.test");
}

TEST(SupportHeaders, MissingFieldsAreAbsent) {
    const auto h = read_support_headers("To: ann@example.test\r\n\r\nbody\r\n");
    EXPECT_FALSE(h.from);
    EXPECT_FALSE(h.subject);
    EXPECT_FALSE(h.date_unix);
    EXPECT_TRUE(h.section_complete);
    const auto empty = read_support_headers("");
    EXPECT_FALSE(empty.from);
    EXPECT_FALSE(empty.section_complete);
    const auto no_headers = read_support_headers("\r\nFrom: in the body\r\n");
    EXPECT_FALSE(no_headers.from);
    EXPECT_TRUE(no_headers.section_complete);
}

TEST(SupportHeaders, AnEmptyValueIsPresentButEmpty) {
    const auto h = read_support_headers("Subject:\r\nFrom:   \r\n\r\n");
    ASSERT_TRUE(h.subject);
    EXPECT_EQ(*h.subject, "");
    ASSERT_TRUE(h.from);
    EXPECT_EQ(*h.from, "");
}

TEST(SupportHeaders, TheFirstOfRepeatedFieldsCounts) {
    const auto h = read_support_headers("Subject: one\r\nSubject: two\r\n continued\r\nFROM : a@b.test\r\nFrom: c@d.test\r\n\r\n");
    EXPECT_EQ(h.subject.value_or("?"), "one");
    EXPECT_EQ(h.from.value_or("?"), "a@b.test");  // white space before the colon (RFC 5322 4.5)
}

TEST(SupportHeaders, MalformedLinesAreSkippedNotFatal) {
    const auto h = read_support_headers(
        " a continuation first\r\nno colon here\r\nFrom x@y Mon Jan  1 00:00:00 2026\r\nBad Name: x\r\n"
        "Subject: still found\r\n\r\n");
    EXPECT_EQ(h.subject.value_or("?"), "still found");
    EXPECT_FALSE(h.from);  // "From x@y ..." is an mbox separator, not a field
}

TEST(SupportHeaders, BareLineFeedsAreAccepted) {
    const auto h = read_support_headers("From: a@b.test\nSubject: lf\n only\n\nbody\n");
    EXPECT_EQ(h.from.value_or("?"), "a@b.test");
    EXPECT_EQ(h.subject.value_or("?"), "lf only");
    EXPECT_TRUE(h.section_complete);
}

TEST(SupportHeaders, NulsAndControlsBecomeQuestionMarks) {
    const auto h = read_support_headers("Subject: a\0b\x1b[31mred\x7f\r\nFrom: x\rx@y.test\r\n\r\n"s);
    EXPECT_EQ(h.subject.value_or("!"), "a?b?[31mred?");
    EXPECT_EQ(h.from.value_or("!"), "x x@y.test");  // a bare CR is white space here
    const auto nul_name = read_support_headers("Sub\0ject: hidden\r\nSubject: shown\r\n\r\n"s);
    EXPECT_EQ(nul_name.subject.value_or("!"), "shown");
}

TEST(SupportHeaders, EightBitTextIsKeptWhenItIsUtf8) {
    const auto h = read_support_headers("Subject: Gr\xc3\xbc\xc3\x9f\x65 \xe2\x80\xae evil \xff\xc3\r\n\r\n");
    // UTF-8 kept; the right-to-left override and the malformed bytes become '?'.
    EXPECT_EQ(h.subject.value_or("!"), "Gr\xc3\xbc\xc3\x9f\x65 ? evil ??");
    const auto c1 = read_support_headers("Subject: \xc2\x9b" "2J\r\n\r\n");
    EXPECT_EQ(c1.subject.value_or("!"), "?2J");  // U+009B, a terminal's CSI
}

TEST(SupportHeaders, EncodedWordsAreLeftAsWritten) {
    const auto h = read_support_headers("Subject: =?UTF-8?B?SGVsbG8=?= =?ISO-8859-1?Q?caf=E9?=\r\n\r\n");
    EXPECT_EQ(h.subject.value_or("!"), "=?UTF-8?B?SGVsbG8=?= =?ISO-8859-1?Q?caf=E9?=");
}

TEST(SupportHeaders, AHugeFieldIsCutNotKept) {
    std::string huge = "Subject: ";
    for (int i = 0; i < 20'000; ++i) huge += "word \r\n ";
    huge += "end\r\nFrom: after@huge.test\r\n\r\n";
    SupportHeaderLimits limits;
    limits.section_bytes_max = huge.size();
    const auto h = read_support_headers(huge, limits);
    ASSERT_TRUE(h.subject);
    EXPECT_LE(h.subject->size(), limits.value_bytes_max);
    EXPECT_EQ(h.subject->substr(0, 10), "word word ");
    EXPECT_EQ(h.from.value_or("!"), "after@huge.test");
}

TEST(SupportHeaders, ACutNeverSplitsAUtf8Sequence) {
    SupportHeaderLimits limits;
    limits.value_bytes_max = 4;
    const auto h = read_support_headers("Subject: ab\xc3\xbc\xc3\xbc\r\n\r\n", limits);
    EXPECT_EQ(h.subject.value_or("!"), "ab\xc3\xbc");
    limits.value_bytes_max = 3;
    EXPECT_EQ(read_support_headers("Subject: ab\xc3\xbc\xc3\xbc\r\n\r\n", limits).subject.value_or("!"), "ab");
    // Nor leaves a space at the end (support_headers_fuzz found one).
    EXPECT_EQ(read_support_headers("Subject: ab cd\r\n\r\n", limits).subject.value_or("!"), "ab");
}

TEST(SupportHeaders, NothingPastTheSectionLimitIsRead) {
    std::string message = "X-Pad: " + std::string(100, 'p') + "\r\nSubject: late\r\n\r\n";
    SupportHeaderLimits limits;
    limits.section_bytes_max = 50;
    const auto h = read_support_headers(message, limits);
    EXPECT_FALSE(h.subject);
    EXPECT_FALSE(h.section_complete);
    // A line cut by the limit is not read either: its value could be a prefix of the real one.
    limits.section_bytes_max = message.find("late") + 2;
    EXPECT_FALSE(read_support_headers(message, limits).subject);
    // Without a limit in the way, a last line without a line break is read (the message ends there).
    EXPECT_EQ(read_support_headers("Subject: no break").subject.value_or("!"), "no break");
}

TEST(SupportHeaders, SectionEnd) {
    EXPECT_EQ(header_section_end("A: b\r\n\r\nbody"), 8u);
    EXPECT_EQ(header_section_end("A: b\n\nbody"), 6u);
    EXPECT_EQ(header_section_end("\r\nbody"), 2u);
    EXPECT_FALSE(header_section_end("A: b\r\nC: d\r\n"));
    EXPECT_FALSE(header_section_end(""));
}

TEST(MessageDate, Rfc5322Forms) {
    constexpr std::int64_t noon = 1'767'268'800;  // 2026-01-01T12:00:00Z
    EXPECT_EQ(parse_message_date("Thu, 01 Jan 2026 12:00:00 +0000"), noon);
    EXPECT_EQ(parse_message_date("1 Jan 2026 12:00:00 +0000"), noon);
    EXPECT_EQ(parse_message_date("Thu, 1 Jan 2026 13:30:00 +0130"), noon);
    EXPECT_EQ(parse_message_date("Thu, 1 Jan 2026 04:00:00 -0800"), noon);
    EXPECT_EQ(parse_message_date("Thu, 1 Jan 2026 12:00 GMT"), noon);
    EXPECT_EQ(parse_message_date("Thu, 1 Jan 2026 04:00:00 PST"), noon);
    EXPECT_EQ(parse_message_date("  Thu , 1 (day) Jan 2026 12:00:00 +0000 (UTC)  "), noon);
    EXPECT_EQ(parse_message_date("Thu, 1 jan 26 12:00:00 +0000"), noon);  // two-digit year: 2026
    EXPECT_EQ(parse_message_date("Fri, 1 Jan 99 00:00:00 +0000"), 915'148'800);  // 1999
    EXPECT_EQ(parse_message_date("29 Feb 2024 00:00:00 +0000"), 1'709'164'800);
}

TEST(MessageDate, NotADate) {
    for (const char* bad : {"", "yesterday", "Thu, 1 Jan 2026", "1 Jan 2026 12:00:00", "1 Jan 2026 12:00:00 +2500",
                            "1 Jan 2026 12:60:00 +0000", "1 Jan 2026 24:00:00 +0000", "30 Feb 2026 12:00:00 +0000",
                            "29 Feb 2026 12:00:00 +0000", "1 Foo 2026 12:00:00 +0000", "Xyz, 1 Jan 2026 12:00:00 +0000",
                            "1 Jan 2026 12:00:00 +0000 trailing", "1 Jan 2026 12:00:00 (unclosed", "0 Jan 2026 12:00:00 +0000",
                            "1 Jan 123456 12:00:00 +0000", "1 Jan 1800 12:00:00 +0000", "1 Jan 2026 12:00:00 ABC"})
        EXPECT_FALSE(parse_message_date(bad)) << bad;
    EXPECT_FALSE(parse_message_date("1 Jan 2026 12:00:00 +0000 " + std::string(300, ' ')));
    EXPECT_FALSE(parse_message_date("1 Jan 2026 12:00:00 +0000 " + std::string(20, '(') + std::string(20, ')')));
}

TEST(MessageDate, TheDateFieldOfAMessage) {
    const auto h = read_support_headers("Date: Thu, 1 Jan 2026\r\n 12:00:00 +0000\r\n\r\n");
    EXPECT_EQ(h.date_unix, 1'767'268'800);
    EXPECT_FALSE(read_support_headers("Date: soon\r\n\r\n").date_unix);
}

}  // namespace
}  // namespace vmx
