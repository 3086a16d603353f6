// tag=value lists (RFC 6376 3.2) and DMARC record selection (RFC 7489 6.6.3), hostile cases included.
#include "net/mailauth/tag_list.h"

#include <gtest/gtest.h>

namespace vmx::mailauth {
namespace {

TEST(TagList, ParsesWithWhitespaceAndATrailingSemicolon) {
    const auto tags = parse_tag_list(" v=DKIM1; k = rsa ;\r\n\tp=MIIB AQAB;");
    ASSERT_TRUE(tags);
    ASSERT_EQ(tags->size(), 3u);
    EXPECT_EQ((*tags)[1].name, "k");
    EXPECT_EQ((*tags)[1].value, "rsa");
    EXPECT_EQ((*tags)[2].value, "MIIB AQAB");  // inner whitespace is the value's
    EXPECT_TRUE(parse_tag_list(""));
    EXPECT_TRUE(parse_tag_list("t="));  // an empty value is allowed
}

TEST(TagList, RefusesWhatTheRfcForbids) {
    EXPECT_FALSE(parse_tag_list("v=DKIM1; v=DKIM1"));  // duplicate
    EXPECT_FALSE(parse_tag_list("v=DKIM1;; k=rsa"));   // empty element
    EXPECT_FALSE(parse_tag_list("novalue"));
    EXPECT_FALSE(parse_tag_list("1a=x"));              // a name starts with a letter
    EXPECT_FALSE(parse_tag_list("=x"));
    EXPECT_FALSE(parse_tag_list(std::string("v=a\0b", 5)));  // a NUL inside a value
    EXPECT_FALSE(parse_tag_list("v=\x7f"));
    std::string many;
    for (int i = 0; i < 70; ++i) many += "t" + std::to_string(i) + "=x;";
    EXPECT_FALSE(parse_tag_list(many));
    EXPECT_TRUE(parse_tag_list(many, 100));
}

TEST(TagList, DmarcRecordStartsWithItsVersion) {
    EXPECT_TRUE(is_dmarc_record("v=DMARC1; p=reject"));
    EXPECT_TRUE(is_dmarc_record("v=DMARC1;p=none;rua=mailto:a@b.example"));
    EXPECT_FALSE(is_dmarc_record("p=reject; v=DMARC1"));  // not first
    EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
    EXPECT_FALSE(is_dmarc_record("v=DMARC1; p=reject; p=none"));
    EXPECT_FALSE(is_dmarc_record(""));
}

}  // namespace
}  // namespace vmx::mailauth
