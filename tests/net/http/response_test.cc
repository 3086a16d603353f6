// The portal's response writer: exact bytes for each body and connection mode, a head alone for a
// body sent in pieces, the statuses that carry no Content-Length, reason phrases, and the assertions that keep a field from splitting
// the message.
#include <gtest/gtest.h>

#include <string>

#include "net/http/response.h"

namespace vmx::http {
namespace {

Response page() {
    Response r;
    r.headers = {{"Content-Type", "text/html; charset=utf-8"}, {"Cache-Control", "no-store"}};
    r.body = "<p>hi</p>";
    return r;
}

TEST(HttpResponse, WritesStatusFieldsLengthAndBody) {
    EXPECT_EQ(serialize(page(), BodyMode::with_body, ConnectionMode::keep_alive),
              "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
              "Content-Length: 9\r\nConnection: keep-alive\r\n\r\n<p>hi</p>");
}

TEST(HttpResponse, HeadGetsTheLengthWithoutTheBody) {
    EXPECT_EQ(serialize(page(), BodyMode::head_only, ConnectionMode::close),
              "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
              "Content-Length: 9\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponse, AHeadForABodySentInPiecesHasTheWholeLength) {
    Response r = page();
    r.body.clear();
    EXPECT_EQ(serialize_head(r, 5368709120, ConnectionMode::keep_alive),
              "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
              "Content-Length: 5368709120\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpResponse, EmptyBodyStillHasItsLength) {
    Response r;
    r.status = 303;
    r.headers = {{"Location", "/account"}};
    EXPECT_EQ(serialize(r, BodyMode::with_body, ConnectionMode::close),
              "HTTP/1.1 303 See Other\r\nLocation: /account\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST(HttpResponse, NoContentAndNotModifiedHaveNoLength) {
    Response r;
    r.status = 204;
    EXPECT_EQ(serialize(r, BodyMode::with_body, ConnectionMode::keep_alive),
              "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
    r.status = 304;
    r.headers = {{"ETag", "\"v1\""}};
    EXPECT_EQ(serialize(r, BodyMode::head_only, ConnectionMode::keep_alive),
              "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpResponse, ReasonPhrases) {
    for (const int status : {200, 204, 301, 302, 303, 304, 400, 401, 403, 404, 405, 408, 411, 413, 414, 415, 429, 431,
                             500, 501, 503, 505})
        EXPECT_FALSE(reason_phrase(status).empty()) << status;
    EXPECT_EQ(reason_phrase(413), "Content Too Large");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(299), "");
    EXPECT_EQ(reason_phrase(-1), "");
    Response r;
    r.status = 299;
    EXPECT_TRUE(serialize(r, BodyMode::with_body, ConnectionMode::close).starts_with("HTTP/1.1 299 \r\n"));
}

TEST(HttpResponse, FieldsThatCouldSplitOrReframeTheMessageAreProgrammerErrors) {
    const auto with = [](std::string name, std::string value) {
        Response r;
        r.headers = {{std::move(name), std::move(value)}};
        return serialize(r, BodyMode::with_body, ConnectionMode::close);
    };
    EXPECT_DEATH(with("Location", "/a\r\nSet-Cookie: s=1"), "");
    EXPECT_DEATH(with("Location", "/a\nb"), "");
    EXPECT_DEATH(with("X-A\r\nB", "c"), "");
    EXPECT_DEATH(with("X A", "c"), "");
    EXPECT_DEATH(with("", "c"), "");
    EXPECT_DEATH(with("content-length", "5"), "");
    EXPECT_DEATH(with("Transfer-Encoding", "chunked"), "");
    EXPECT_DEATH(with("Connection", "close"), "");
    Response r;
    r.status = 204;
    r.body = "x";
    EXPECT_DEATH(serialize(r, BodyMode::with_body, ConnectionMode::close), "");
    r.status = 100;
    r.body.clear();
    EXPECT_DEATH(serialize(r, BodyMode::with_body, ConnectionMode::close), "");
}

}  // namespace
}  // namespace vmx::http
