// RFC 5424 lines: the header fields, the structured data, one event one line, parsing back.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

#include "appliance/ops/log_line.h"

namespace vmx {
namespace {

LogRecord record(std::string_view text, LogLevel level = LogLevel::info, std::int32_t shard = 2) {
    LogRecord r;
    r.time_us = 1796551418123456;  // 2026-12-06T10:03:38.123456Z
    r.level = level;
    r.shard = shard;
    r.length = static_cast<std::uint16_t>(text.size());
    std::memcpy(r.text, text.data(), text.size());
    return r;
}

TEST(LogLine, HasEveryRfc5424Field) {
    const std::string line =
        format_log_line(record("event=smtp.session client=192.0.2.7 messages=1"), 17, {"mx1.example.net", "vaultmxd", 4242});
    EXPECT_EQ(line,
              "<22>1 2026-12-06T10:03:38.123456Z mx1.example.net vaultmxd 4242 smtp.session "
              "[vaultmx@32473 seq=\"17\" shard=\"2\"] client=192.0.2.7 messages=1");
    // The grammar of RFC 5424 section 6 for what we write.
    const std::regex grammar(R"(^<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z [!-~]{1,255} [!-~]{1,48} \d+ [!-~]{1,32} \[[!-~]+( [!-~]+="[^"\\\]]*")*\]( .*)?$)");
    EXPECT_TRUE(std::regex_match(line, grammar)) << line;
}

TEST(LogLine, SeverityFollowsTheLevelUnderFacilityMail) {
    const LogOrigin origin{"h", "vaultmxd", 1};
    EXPECT_TRUE(format_log_line(record("event=a", LogLevel::debug), 1, origin).starts_with("<23>1 "));
    EXPECT_TRUE(format_log_line(record("event=a", LogLevel::warn), 1, origin).starts_with("<20>1 "));
    EXPECT_TRUE(format_log_line(record("event=a", LogLevel::error), 1, origin).starts_with("<19>1 "));
}

TEST(LogLine, HostileFieldsNeverBreakTheLine) {
    const std::string line = format_log_line(record("event=bad\x01name\x7f" "0123456789012345678901234567890123456789 v=a\r\nb\x1b[31m"),
                                             5, {"host with space", "vaultmxd", 9});
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    const auto fields = parse_log_line(line);
    ASSERT_TRUE(fields);
    EXPECT_LE(fields->msgid.size(), log_msgid_bytes_max);
    EXPECT_EQ(fields->msgid.find('\x01'), std::string_view::npos);
    EXPECT_NE(line.find(" host_with_space "), std::string::npos) << line;
}

TEST(LogLine, AnEventWithoutFieldsOrNameStillFormats) {
    const LogOrigin origin{"", "vaultmxd", 1};
    EXPECT_EQ(format_log_line(record("event=x.y"), 3, origin),
              "<22>1 2026-12-06T10:03:38.123456Z - vaultmxd 1 x.y [vaultmx@32473 seq=\"3\" shard=\"2\"]");
    EXPECT_NE(format_log_line(record("free text"), 3, origin).find(" - [vaultmx@32473"), std::string::npos);
}

TEST(LogLine, ParsesWhatItWrites) {
    const std::string line = format_log_line(record("event=pop3.login user=3"), 123456789, {"h", "vaultmxd", 1});
    const auto fields = parse_log_line(line);
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->sequence, 123456789u);
    EXPECT_EQ(fields->msgid, "pop3.login");
    EXPECT_EQ(fields->timestamp, "2026-12-06T10:03:38.123456Z");
    for (const char* bad : {"", "<22>1 a b c d e", "<22>1 a b c d e [other@1 seq=\"1\"]", "<22>1 a b c d e [vaultmx@32473 seq=\"x\"]",
                            "22>1 a b c d e [vaultmx@32473 seq=\"1\"]", "<22>1 a b c d e [vaultmx@32473 seq=\"1"})
        EXPECT_FALSE(parse_log_line(bad)) << bad;
}

}  // namespace
}  // namespace vmx
