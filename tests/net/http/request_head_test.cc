// The HTTP/1.x request head parser: good heads whole and fed a byte at a time, and hostile ones
// (oversized lines and heads, too many fields, bare LF and CR, NUL, obs-fold, odd versions).
#include <gtest/gtest.h>

#include <string>

#include "net/http/request_head.h"

namespace vmx::http {
namespace {

const HeadLimits limits{64, 256, 4};

RequestHead parse(std::string_view s) { return parse_request_head(s, limits); }

TEST(HttpRequestHead, ParsesAScrape) {
    const std::string head = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9925\r\nAccept: */*\r\n\r\n";
    const std::string received = head + "trailing bytes";  // the views point into it
    const RequestHead r = parse(received);
    ASSERT_EQ(r.status, HeadStatus::complete);
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/metrics");
    EXPECT_EQ(r.version, "HTTP/1.1");
    EXPECT_EQ(r.head_bytes, head.size());
    EXPECT_EQ(r.header_fields, 2U);
}

TEST(HttpRequestHead, EveryPrefixIsIncompleteThenComplete) {
    const std::string head = "HEAD /metrics?x=1 HTTP/1.0\r\nUser-Agent: t\t \r\n\r\n";
    for (std::size_t n = 0; n < head.size(); ++n)
        EXPECT_EQ(parse(head.substr(0, n)).status, HeadStatus::incomplete) << n;
    EXPECT_EQ(parse(head).status, HeadStatus::complete);
    EXPECT_EQ(parse(head).method, "HEAD");
}

TEST(HttpRequestHead, NoFieldsAtAll) {
    EXPECT_EQ(parse("GET / HTTP/1.0\r\n\r\n").status, HeadStatus::complete);
}

TEST(HttpRequestHead, MalformedRequestLines) {
    for (const char* bad : {"\r\n\r\n", "GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\n\r\n",
                            "GET /metrics  HTTP/1.1\r\n\r\n", "GET /met rics HTTP/1.1\r\n\r\n",
                            "G(T /metrics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1 \r\n\r\n",
                            "GET /m\x7f HTTP/1.1\r\n\r\n", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "GET /metrics http/1.1\r\n\r\n",
                            "GET /metrics HTTP/11\r\n\r\n", "\x16\x03\x01\x02\xfc\x03\x03\r\n\r\n"}) {
        EXPECT_EQ(parse(bad).status, HeadStatus::bad_request) << bad;
    }
}

TEST(HttpRequestHead, OtherVersionsAre505) {
    EXPECT_EQ(parse("GET /metrics HTTP/2.0\r\n\r\n").status, HeadStatus::bad_version);
    EXPECT_EQ(parse("GET /metrics HTTP/0.9\r\n\r\n").status, HeadStatus::bad_version);
    EXPECT_EQ(status_code_of(HeadStatus::bad_version), 505);
}

TEST(HttpRequestHead, BareLineEndsAndControlsAreRefused) {
    EXPECT_EQ(parse("GET /metrics HTTP/1.1\n").status, HeadStatus::bad_request);
    EXPECT_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\n").status, HeadStatus::bad_request);
    EXPECT_EQ(parse("GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n").status, HeadStatus::bad_request);
    EXPECT_EQ(parse(std::string("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n", 37)).status, HeadStatus::bad_request);
    EXPECT_EQ(parse(std::string("GET /me\0trics HTTP/1.1\r\n\r\n", 26)).status, HeadStatus::bad_request);
}

TEST(HttpRequestHead, MalformedFields) {
    for (const char* bad : {"GET / HTTP/1.1\r\nHost x\r\n\r\n", "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                            "GET / HTTP/1.1\r\n: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
                            "GET / HTTP/1.1\r\n Host: x\r\n\r\n", "GET / HTTP/1.1\r\nHo\"st: x\r\n\r\n"}) {
        EXPECT_EQ(parse(bad).status, HeadStatus::bad_request) << bad;
    }
}

TEST(HttpRequestHead, LongRequestLineIs414EvenBeforeItEnds) {
    const std::string target(100, 'a');
    EXPECT_EQ(parse("GET /" + target + " HTTP/1.1\r\n\r\n").status, HeadStatus::uri_too_long);
    EXPECT_EQ(parse("GET /" + target).status, HeadStatus::uri_too_long);
    EXPECT_EQ(status_code_of(HeadStatus::uri_too_long), 414);
    // Exactly at the limit is fine.
    const std::string line = "GET /" + std::string(64 - 14, 'b') + " HTTP/1.1";
    ASSERT_EQ(line.size(), 64U);
    EXPECT_EQ(parse(line + "\r\n\r\n").status, HeadStatus::complete);
}

TEST(HttpRequestHead, LargeHeadIs431EvenBeforeItEnds) {
    const std::string start = "GET / HTTP/1.1\r\nX: " + std::string(300, 'v');
    EXPECT_EQ(parse(start).status, HeadStatus::fields_too_large);
    EXPECT_EQ(parse(start + "\r\n\r\n").status, HeadStatus::fields_too_large);
    EXPECT_EQ(status_code_of(HeadStatus::fields_too_large), 431);
}

TEST(HttpRequestHead, TooManyFieldsIs431) {
    std::string head = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 4; ++i) head += "A: b\r\n";
    EXPECT_EQ(parse(head + "\r\n").status, HeadStatus::complete);
    EXPECT_EQ(parse(head + "A: b\r\n\r\n").status, HeadStatus::fields_too_large);
}

TEST(HttpRequestHead, SlowHeadStaysBoundedByTheLimit) {
    // A slowloris sends one byte of a never-ending field at a time: incomplete until the limit.
    std::string head = "GET / HTTP/1.1\r\nX-Slow: ";
    while (parse(head).status == HeadStatus::incomplete) head += 'z';
    EXPECT_EQ(parse(head).status, HeadStatus::fields_too_large);
    EXPECT_LE(head.size(), limits.head_bytes_max + 1);
}

TEST(HttpRequestHead, VerdictDoesNotDependOnTheBytesAfterIt) {
    // A bare LF decides at once, even if a long line with a CRLF follows.
    EXPECT_EQ(parse("GET /x HTTP/1.1\n" + std::string(100, 'a') + "\r\n\r\n").status, HeadStatus::bad_request);
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nA: b\n" + std::string(300, 'a') + "\r\n").status, HeadStatus::bad_request);
    // A line of exactly the limit whose CR arrived without its LF is not over the limit yet.
    const std::string line = "GET /" + std::string(64 - 14, 'b') + " HTTP/1.1";
    EXPECT_EQ(parse(line + "\r").status, HeadStatus::incomplete);
    EXPECT_EQ(parse(line + "b\r").status, HeadStatus::uri_too_long);
}

TEST(HttpRequestHead, RequestLineLimitNeverPassesTheHeadLimit) {
    const HeadLimits odd{8192, 32, 4};  // a request line may not be longer than the head
    const std::string line = "GET /" + std::string(30 - 14, 'c') + " HTTP/1.1";
    ASSERT_EQ(line.size(), 30U);
    EXPECT_EQ(parse_request_head(line + "\r\n", odd).status, HeadStatus::incomplete);
    EXPECT_EQ(parse_request_head(line + "c", odd).status, HeadStatus::uri_too_long);
    EXPECT_EQ(parse_request_head(line + "\r\n\r\n", odd).status, HeadStatus::fields_too_large);
}

}  // namespace
}  // namespace vmx::http
