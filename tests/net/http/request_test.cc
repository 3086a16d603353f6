// The portal's request engine: every request is played whole and one byte at a time (each growing
// prefix, as a caller that parses after every read would see it), and both must reach the same
// verdict at the same byte. Good requests, pipelining, every refusal and its status, smuggling
// attempts, and each limit at exactly its value and one over.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "net/http/request.h"

namespace vmx::http {
namespace {

RequestLimits test_limits() {
    RequestLimits l;
    l.head = HeadLimits{64, 256, 8};
    l.body_bytes_max = 32;
    return l;
}

const RequestLimits limits = test_limits();

bool same_request(const Request& a, const Request& b) {
    return a.method == b.method && a.target == b.target && a.version == b.version && a.fields == b.fields &&
           a.body == b.body && a.keep_alive == b.keep_alive;
}

struct Played {
    ParseResult result;
    Request request;
};

// Parses `input` whole, then every prefix from the empty one up: all are incomplete until the
// first verdict, which must be the whole input's (for a complete request: at `consumed` bytes).
Played play(const std::string& input, const RequestLimits& l = limits) {
    Played whole;
    whole.result = parse_request(input, l, whole.request);
    std::size_t n = 0;
    Request part;
    ParseResult p;
    for (; n <= input.size(); ++n) {
        p = parse_request(std::string_view(input).substr(0, n), l, part);
        if (p.status != ParseStatus::incomplete) break;
        EXPECT_LE(n, l.head.head_bytes_max + l.body_bytes_max);  // what the caller may have to hold
    }
    EXPECT_EQ(p.status, whole.result.status) << input;
    EXPECT_EQ(p.consumed, whole.result.consumed) << input;
    EXPECT_EQ(p.error_status, whole.result.error_status) << input;
    if (whole.result.status == ParseStatus::complete) {
        EXPECT_EQ(n, whole.result.consumed) << input;
        EXPECT_TRUE(same_request(part, whole.request)) << input;
    }
    return whole;
}

Request complete(const std::string& input) {
    const Played p = play(input);
    EXPECT_EQ(p.result.status, ParseStatus::complete) << input;
    EXPECT_EQ(p.result.consumed, input.size()) << input;
    return p.request;
}

int refusal(const std::string& input, const RequestLimits& l = limits) {
    const Played p = play(input, l);
    EXPECT_EQ(p.result.status, ParseStatus::error) << input;
    EXPECT_EQ(p.result.consumed, 0U);
    return p.result.error_status;
}

// A POST of `body` whose Content-Length says `declared`.
std::string post(const std::string& declared, const std::string& body) {
    return "POST /login HTTP/1.1\r\nHost: portal.example\r\nContent-Length: " + declared + "\r\n\r\n" + body;
}

TEST(HttpRequest, ParsesAGetWithItsFields) {
    const Request r = complete(
        "GET /account?tab=keys HTTP/1.1\r\nHost: portal.example\r\nUser-Agent: \t t 1 \t\r\n"
        "ACCEPT:*/*\r\nAccept: text/html\r\n\r\n");
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/account?tab=keys");
    EXPECT_EQ(r.version, "HTTP/1.1");
    ASSERT_EQ(r.fields.size(), 4U);
    EXPECT_EQ(r.fields[1], (std::pair<std::string, std::string>{"user-agent", "t 1"}));
    EXPECT_EQ(r.field("accept"), "*/*");
    EXPECT_EQ(r.count("accept"), 2U);
    EXPECT_EQ(r.field("host"), "portal.example");
    EXPECT_FALSE(r.field("cookie").has_value());
    EXPECT_EQ(r.count("cookie"), 0U);
    EXPECT_TRUE(r.body.empty());
    EXPECT_TRUE(r.keep_alive);
}

TEST(HttpRequest, ParsesAPostWithItsBody) {
    const Request r = complete(post("17", "user=a&pass=b%26c"));
    EXPECT_EQ(r.body, "user=a&pass=b%26c");
    // The body is bytes, not lines: CRLF and a request line inside it are only content.
    const std::string inner = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    EXPECT_EQ(complete(post(std::to_string(inner.size()), inner)).body, inner);
    EXPECT_EQ(complete(post("0", "")).body, "");
}

TEST(HttpRequest, PipelinedRequestsComeOneAtATime) {
    const std::string first = "GET /a HTTP/1.1\r\nHost: p\r\n\r\n";
    const std::string second = post("3", "x=1");
    const std::string third = "GET /c HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n";
    std::string input = first + second + third + "GET /d";
    std::vector<Request> seen;
    for (;;) {
        const Played p = play(input);
        if (p.result.status != ParseStatus::complete) break;
        seen.push_back(p.request);
        input.erase(0, p.result.consumed);
    }
    ASSERT_EQ(seen.size(), 3U);
    EXPECT_EQ(seen[0].target, "/a");
    EXPECT_EQ(seen[1].body, "x=1");
    EXPECT_FALSE(seen[2].keep_alive);
    EXPECT_EQ(input, "GET /d");  // the fourth is still arriving
}

TEST(HttpRequest, KeepAliveFollowsTheVersionAndConnection) {
    const auto keeps = [](const std::string& version, const std::string& fields) {
        return complete("GET / " + version + "\r\nHost: p\r\n" + fields + "\r\n").keep_alive;
    };
    EXPECT_TRUE(keeps("HTTP/1.1", ""));
    EXPECT_FALSE(keeps("HTTP/1.1", "Connection: close\r\n"));
    EXPECT_FALSE(keeps("HTTP/1.1", "Connection: keep-alive, CLOSE\r\n"));
    EXPECT_FALSE(keeps("HTTP/1.1", "Connection: upgrade\r\nConnection: ,close ,\r\n"));
    EXPECT_TRUE(keeps("HTTP/1.1", "Connection: closed\r\n"));
    EXPECT_FALSE(keeps("HTTP/1.0", ""));
    EXPECT_TRUE(keeps("HTTP/1.0", "Connection: Keep-Alive\r\n"));
    EXPECT_FALSE(keeps("HTTP/1.0", "Connection: keep-alive\r\nConnection: close\r\n"));
    EXPECT_FALSE(keeps("HTTP/1.0", "Keep-Alive: timeout=5\r\n"));
}

TEST(HttpRequest, HostExactlyOnceInHttp11) {
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    for (const char* bad : {"a b", "a/b", "a@b", "a\"b", "a\x80"})
        EXPECT_EQ(refusal(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n"), 400) << bad;
    EXPECT_EQ(complete("GET / HTTP/1.0\r\n\r\n").version, "HTTP/1.0");
    for (const char* good : {"portal.example:8443", "[2001:db8::1]:443", "192.0.2.1", ""})
        EXPECT_EQ(complete(std::string("GET / HTTP/1.1\r\nHost: ") + good + "\r\n\r\n").field("host"), good);
}

TEST(HttpRequest, AnyTransferEncodingIs501) {
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), 501);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: identity\r\n\r\n"), 501);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\ntransfer-encoding:\r\n\r\n"), 501);
    EXPECT_EQ(refusal("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc"), 501);
}

TEST(HttpRequest, SmugglingWithContentLengthAndTransferEncoding) {
    // CL.TE and TE.CL: a front end reading the other field would end the request elsewhere.
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG"), 501);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n"), 501);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n"), 400);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 4\r\nTransfer-Encoding\x0b: chunked\r\n\r\n"), 400);
}

TEST(HttpRequest, ContentLengthIsOneNumberOfDigits) {
    for (const char* bad : {"+5", "-5", "5 5", "0x5", "5a", "5.0", "", "5,5", "5, 5", "5, 6", "1e1", "\xef\xbc\x95"})
        EXPECT_EQ(refusal(post(bad, "abcde")), 400) << bad;
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nabcde"), 400);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nabcdef"), 400);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length : 5\r\n\r\nabcde"), 400);
    // OWS around a field value is not part of it (RFC 9112 5), leading zeros are digits.
    EXPECT_EQ(complete(post(" \t5\t ", "abcde")).body, "abcde");
    EXPECT_EQ(complete(post("000000000000000000000000000005", "abcde")).body, "abcde");
}

TEST(HttpRequest, ContentLengthOverflowIs413NotAWrappedNumber) {
    EXPECT_EQ(refusal(post("18446744073709551616", "")), 413);   // 2^64
    EXPECT_EQ(refusal(post("18446744073709551621", "abcde")), 413);  // 2^64 + 5
    EXPECT_EQ(refusal(post(std::string(300, '9'), "")), 431);  // the head's own limit first
    RequestLimits huge = limits;
    huge.body_bytes_max = SIZE_MAX;
    EXPECT_EQ(refusal(post("18446744073709551616", ""), huge), 413);
    Request r;
    EXPECT_EQ(parse_request(post("18446744073709551615", "ab"), huge, r).status, ParseStatus::incomplete);
}

TEST(HttpRequest, ObsFoldAndBareLineEndsAre400) {
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\r\nX: a\r\n b\r\n\r\n"), 400);
    EXPECT_EQ(refusal("POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 1\r\n 0\r\n\r\nabcdefghij"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\r\n\tX: a\r\n\r\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\nHost: p\n\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\nContent-Length: 3\r\n\r\nabc"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\r\n\n"), 400);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\rContent-Length: 3\r\n\r\nabc"), 400);
    EXPECT_EQ(refusal(std::string("GET / HTTP/1.1\r\nHost: p\0q\r\n\r\n", 29)), 400);
    EXPECT_EQ(refusal("\r\nGET / HTTP/1.1\r\nHost: p\r\n\r\n"), 400);  // no empty line before a request
}

TEST(HttpRequest, PostAndPutWithoutContentLengthAre411) {
    EXPECT_EQ(refusal("POST /login HTTP/1.1\r\nHost: p\r\n\r\nuser=a"), 411);
    EXPECT_EQ(refusal("PUT /key HTTP/1.0\r\n\r\n"), 411);
    // Other methods have no body without one (RFC 9112 6.3 item 7); method names are case-sensitive.
    for (const char* method : {"GET", "HEAD", "DELETE", "OPTIONS", "post"})
        EXPECT_TRUE(complete(std::string(method) + " / HTTP/1.1\r\nHost: p\r\n\r\n").body.empty()) << method;
}

TEST(HttpRequest, BodyLimitIsDecidedFromTheHeadAlone) {
    const std::string at_limit(32, 'b');
    EXPECT_EQ(complete(post("32", at_limit)).body, at_limit);
    // One over: refused as soon as the head ends, before any body byte.
    const std::string head = "POST /login HTTP/1.1\r\nHost: portal.example\r\nContent-Length: 33\r\n\r\n";
    Request r;
    EXPECT_EQ(parse_request(head, limits, r).error_status, 413);
    EXPECT_EQ(refusal(post("33", at_limit + "b")), 413);
    EXPECT_EQ(refusal("GET / HTTP/1.1\r\nHost: p\r\nContent-Length: 33\r\n\r\n"), 413);
}

TEST(HttpRequest, HeadLimitsAtTheLimitAndOneOver) {
    // Request line: 64 bytes.
    const std::string line = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(line.size(), 64U);
    EXPECT_EQ(complete(line + "\r\nHost: p\r\n\r\n").target.size(), 51U);
    EXPECT_EQ(refusal("GET /" + std::string(64 - 13, 'a') + " HTTP/1.1\r\nHost: p\r\n\r\n"), 414);
    // Head: 256 bytes, CRLFs included.
    const std::string start = "GET / HTTP/1.1\r\nHost: p\r\nX: ";
    const std::string filled = start + std::string(256 - start.size() - 4, 'v') + "\r\n\r\n";
    ASSERT_EQ(filled.size(), 256U);
    complete(filled);
    EXPECT_EQ(refusal(start + std::string(256 - start.size() - 3, 'v') + "\r\n\r\n"), 431);
    // Fields: 8.
    std::string head = "GET / HTTP/1.1\r\nHost: p\r\n";
    for (int i = 0; i < 7; ++i) head += "A: b\r\n";
    EXPECT_EQ(complete(head + "\r\n").count("a"), 7U);
    EXPECT_EQ(refusal(head + "A: b\r\n\r\n"), 431);
}

TEST(HttpRequest, EveryRefusalOfTheHeadParserKeepsItsStatus) {
    EXPECT_EQ(refusal("GET / HTTP/2.0\r\nHost: p\r\n\r\n"), 505);
    EXPECT_EQ(refusal("GET / HTTP/1.1 \r\nHost: p\r\n\r\n"), 400);
    EXPECT_EQ(refusal("G@T / HTTP/1.1\r\nHost: p\r\n\r\n"), 400);
    EXPECT_EQ(refusal("GET " + std::string(100, '/')), 414);
}

TEST(HttpRequest, WhatIsOutsideAResultIsLeftAlone) {
    Request r;
    r.method = "unchanged";
    EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost: p\r\n", limits, r).status, ParseStatus::incomplete);
    EXPECT_EQ(parse_request(post("5", "abc"), limits, r).status, ParseStatus::incomplete);
    EXPECT_EQ(parse_request("GET / HTTP/1.1\r\n\r\n", limits, r).status, ParseStatus::error);
    EXPECT_EQ(r.method, "unchanged");
}

TEST(HttpRequest, ASlowBodyNeverNeedsMoreThanHeadAndBodyLimits) {
    const RequestLimits defaults;
    std::string input = "POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 65536\r\n\r\n";
    Request r;
    while (parse_request(input, defaults, r).status == ParseStatus::incomplete) input.append(4096, 'z');
    EXPECT_LE(input.size(), defaults.head.head_bytes_max + defaults.body_bytes_max + 4096);
    EXPECT_EQ(r.body.size(), 65536U);
}

}  // namespace
}  // namespace vmx::http
