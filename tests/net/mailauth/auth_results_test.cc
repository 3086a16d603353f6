// Authentication-Results: reading the authserv-id of an incoming field, removing the ones that claim
// ours (RFC 8601 5) whatever their case, folding or comments, and writing ours so that nothing a
// sender chose can end the field. Also the header splitter they and DKIM rely on.
#include "net/mailauth/auth_results.h"

#include <gtest/gtest.h>

#include "net/mailauth/header_fields.h"

namespace vmx::mailauth {
namespace {

TEST(AuthservId, TokenQuotedAndAfterComments) {
    EXPECT_EQ(authserv_id(" mx.example.com; spf=pass"), "mx.example.com");
    EXPECT_EQ(authserv_id(" mx.example.com 1; spf=pass"), "mx.example.com");  // a version follows
    EXPECT_EQ(authserv_id(" (comment (nested)) mx.example.com;"), "mx.example.com");
    EXPECT_EQ(authserv_id("\r\n\tmx.example.com;"), "mx.example.com");
    EXPECT_EQ(authserv_id(" \"mx.example.com\"; none"), "mx.example.com");
    EXPECT_FALSE(authserv_id(" ; spf=pass"));
    EXPECT_FALSE(authserv_id(" (unclosed mx.example.com;"));
    EXPECT_FALSE(authserv_id(" \"unterminated"));
    EXPECT_FALSE(authserv_id(" ((((((((((deep)))))))))) mx.example.com"));
}

TEST(StripAuthResults, RemovesOursOnlyInAnyForm) {
    const std::string message =
        "Authentication-Results: mx.example.com; spf=pass\r\n"
        "Received: from a\r\n"
        "authentication-results : MX.Example.COM;\r\n\tdkim=pass\r\n"
        "Authentication-Results: (x) \"mx.example.com\"; dmarc=pass\r\n"
        "Authentication-Results: other.example; spf=fail\r\n"
        "Authentication-Results: ;garbage\r\n"
        "Subject: hi\r\n"
        "\r\n"
        "Authentication-Results: mx.example.com; in the body stays\r\n";
    const Stripped s = strip_auth_results(message, "mx.example.com");
    EXPECT_EQ(s.removed, 4u);  // three of ours and the one whose id cannot be read
    EXPECT_EQ(s.message,
              "Received: from a\r\n"
              "Authentication-Results: other.example; spf=fail\r\n"
              "Subject: hi\r\n"
              "\r\n"
              "Authentication-Results: mx.example.com; in the body stays\r\n");
    const Stripped none = strip_auth_results("Subject: x\r\n\r\nbody", "mx.example.com");
    EXPECT_EQ(none.removed, 0u);
    EXPECT_EQ(none.message, "Subject: x\r\n\r\nbody");
}

TEST(FormatAuthResults, QuotesValuesAndCleansComments) {
    std::vector<ResultInfo> results;
    results.push_back({"spf", "pass", {}, {{"smtp.mailfrom", "example.com"}}});
    results.push_back({"dkim", "fail", "bad) \r\n X-Evil: 1 (", {{"header.d", "example.com"}, {"header.b", "ab/+cd=="}}});
    const std::string field = format_auth_results("mx.example.com", results);
    EXPECT_EQ(field,
              "Authentication-Results: mx.example.com;\r\n"
              "\tspf=pass smtp.mailfrom=example.com;\r\n"
              "\tdkim=fail (bad  X-Evil: 1 ) header.d=example.com header.b=\"ab/+cd==\"\r\n");
    EXPECT_EQ(format_auth_results("mx.example.com", {}), "Authentication-Results: mx.example.com; none\r\n");
    // The field is one header field: every line after the first is a continuation.
    const std::string section_text = field + "\r\n";
    const HeaderSection section = header_fields(section_text);
    ASSERT_TRUE(section.complete);
    EXPECT_EQ(section.fields.size(), 1u);
}

TEST(HeaderFields, FieldsContinuationsAndTheBody) {
    const std::string message = "From: a@example.com\r\nSubject: one\r\n two\r\nX: y\n\r\nbody\r\n";
    const HeaderSection s = header_fields(message);
    ASSERT_TRUE(s.complete);
    ASSERT_EQ(s.fields.size(), 3u);
    EXPECT_EQ(s.fields[1].name, "Subject");
    EXPECT_EQ(s.fields[1].text, "Subject: one\r\n two");
    EXPECT_EQ(s.fields[2].text, "X: y");  // a bare LF is tolerated
    EXPECT_EQ(message.substr(s.body_begin), "body\r\n");
    EXPECT_TRUE(header_fields("From: a@b\r\n").complete);  // no body at all

    EXPECT_FALSE(header_fields(" continuation first\r\n\r\n").complete);
    EXPECT_FALSE(header_fields("no colon here\r\n\r\n").complete);
    HeaderLimits small;
    small.fields_max = 2;
    EXPECT_FALSE(header_fields("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", small).complete);
    small = {};
    small.section_bytes_max = 8;
    const HeaderSection cut = header_fields("A: 1\r\nB: 2\r\n\r\n", small);
    EXPECT_FALSE(cut.complete);
    EXPECT_EQ(cut.fields.size(), 1u);
}

}  // namespace
}  // namespace vmx::mailauth
