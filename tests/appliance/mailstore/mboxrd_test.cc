// Tests of appliance/mailstore/mboxrd: the separator line (asctime date, sender rules), mboxrd
// quoting of "From " lines (also those already quoted), CRLF to LF, a last line without its
// newline, an empty message; every case fed whole and one byte at a time, so a line cut at any
// point of a piece comes out the same.
#include "appliance/mailstore/mboxrd.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace vmx {
namespace {

// The message as the writer makes it: whole, and fed one byte at a time (both must agree).
std::string written(std::string_view body, std::string_view sender = "", std::int64_t arrival = 0) {
    std::string whole;
    MboxrdWriter w;
    w.begin(sender, arrival, whole);
    w.feed(body, whole);
    w.end(whole);
    std::string bytewise;
    MboxrdWriter b;
    b.begin(sender, arrival, bytewise);
    for (const char c : body) b.feed(std::string_view(&c, 1), bytewise);
    b.end(bytewise);
    EXPECT_EQ(whole, bytewise);
    return whole;
}

constexpr std::string_view epoch_line = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n";

// The body part of written(): after the separator line.
std::string body_of(std::string_view body) {
    const std::string all = written(body);
    EXPECT_TRUE(all.starts_with(epoch_line)) << all;
    return all.substr(epoch_line.size());
}

TEST(MboxSeparator, AsctimeDateInUtc) {
    EXPECT_EQ(mbox_separator("", 0), epoch_line);
    // 2024-02-29 13:05:09 UTC, a Thursday; the day of month two digits wide.
    EXPECT_EQ(mbox_separator("ann@example.test", 1709211909), "From ann@example.test Thu Feb 29 13:05:09 2024\n");
    // 2001-09-09 01:46:40 UTC: a single-digit day padded with a space.
    EXPECT_EQ(mbox_separator("a@b", 1000000000), "From a@b Sun Sep  9 01:46:40 2001\n");
    EXPECT_EQ(mbox_separator("a@b", 1735689599), "From a@b Tue Dec 31 23:59:59 2024\n");
}

TEST(MboxSeparator, UnknownNullOrUnsafeSenderIsMailerDaemon) {
    EXPECT_EQ(mbox_separator("<>", 0), epoch_line);
    EXPECT_EQ(mbox_separator("a b@c", 0), epoch_line);
    EXPECT_EQ(mbox_separator("a\n@c", 0), epoch_line);
    EXPECT_EQ(mbox_separator(std::string_view("a\0b", 3), 0), epoch_line);
}

TEST(Mboxrd, FromLinesGetOneMoreQuote) {
    EXPECT_EQ(body_of("From me\r\n>From you\r\n>>From x\r\n"), ">From me\n>>From you\n>>>From x\n\n");
    // Only at the start of a line, and only "From " with its space.
    EXPECT_EQ(body_of("a From b\r\nFrom:x\r\nFrom\r\n>From\r\n"), "a From b\nFrom:x\nFrom\n>From\n\n");
    EXPECT_EQ(body_of(">>> quoted\r\n>\r\n>Fro\r\n"), ">>> quoted\n>\n>Fro\n\n");
}

TEST(Mboxrd, FromLineAtTheVeryStartAndEnd) {
    EXPECT_EQ(body_of("From start"), ">From start\n\n");
    EXPECT_EQ(body_of("x\nFrom "), "x\n>From \n\n");
    EXPECT_EQ(body_of("x\n>>Fro"), "x\n>>Fro\n\n");  // cut in the match: written as it was
    EXPECT_EQ(body_of(">>>"), ">>>\n\n");
}

TEST(Mboxrd, CrlfBecomesLfLoneCrStays) {
    EXPECT_EQ(body_of("a\r\nb\r\n"), "a\nb\n\n");
    EXPECT_EQ(body_of("a\rb\n"), "a\rb\n\n");
    EXPECT_EQ(body_of("a\r\r\n"), "a\r\n\n");
    EXPECT_EQ(body_of("ends in cr\r"), "ends in cr\r\n\n");
    // A CR makes the rest of the line no "From " line (readers split at LF only).
    EXPECT_EQ(body_of("\rFrom x\r\n"), "\rFrom x\n\n");
    EXPECT_EQ(body_of("\r\nFrom x\r\n"), "\n>From x\n\n");
    EXPECT_EQ(body_of(">\r\nFrom x"), ">\n>From x\n\n");
}

TEST(Mboxrd, LastLineWithoutNewlineGetsOne) {
    EXPECT_EQ(body_of("Subject: x\r\n\r\nno newline"), "Subject: x\n\nno newline\n\n");
}

TEST(Mboxrd, EmptyMessageIsItsSeparatorAndBlankLine) {
    EXPECT_EQ(written(""), std::string(epoch_line) + "\n");
}

TEST(Mboxrd, MessagesFollowOneAnother) {
    std::string out;
    MboxrdWriter w;
    w.begin("", 0, out);
    w.feed("one\r\nFrom", out);
    w.begin("b@c", 86400, out);  // ends the first one
    w.feed("two\r\n", out);
    w.end(out);
    w.end(out);  // nothing open: nothing written
    EXPECT_EQ(out, std::string(epoch_line) + "one\nFrom\n\nFrom b@c Fri Jan  2 00:00:00 1970\ntwo\n\n");
    EXPECT_FALSE(w.open());
}

TEST(Mboxrd, LongQuoteRunsAreCountedNotLost) {
    const std::string run(100000, '>');
    EXPECT_EQ(body_of(run + "From x\n"), ">" + run + "From x\n\n");
    EXPECT_EQ(body_of(run + "Fr\n"), run + "Fr\n\n");
}

}  // namespace
}  // namespace vmx
