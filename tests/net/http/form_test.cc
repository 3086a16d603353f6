// The portal's form, target and cookie readers and the percent-encoder: good inputs, each kind of
// malformed one, and every limit at exactly its value and one over.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "net/http/form.h"

namespace vmx::http {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(HttpForm, PercentDecode) {
    EXPECT_EQ(percent_decode("a%20b+c%2Bd%2f", PlusMode::space), "a b c+d/");
    EXPECT_EQ(percent_decode("a%20b+c", PlusMode::literal), "a b+c");
    EXPECT_EQ(percent_decode("%00%ff%C3%A9", PlusMode::literal), std::string("\0\xff\xc3\xa9", 4));
    EXPECT_EQ(percent_decode("", PlusMode::space), "");
    for (const char* bad : {"%", "%4", "a%", "%g0", "%0g", "%%", "%-1", "% 20"})
        EXPECT_FALSE(percent_decode(bad, PlusMode::space).has_value()) << bad;
}

TEST(HttpForm, PercentEncodeKeepsOnlyUnreserved) {
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("a b+c/d?e&f=g%h"), "a%20b%2Bc%2Fd%3Fe%26f%3Dg%25h");
    EXPECT_EQ(percent_encode(std::string("\0\r\n\xff", 4)), "%00%0D%0A%FF");
    const std::string every = [] {
        std::string s;
        for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
        return s;
    }();
    EXPECT_EQ(percent_decode(percent_encode(every), PlusMode::space), every);
}

TEST(HttpForm, ParsesWhatBrowsersSend) {
    EXPECT_EQ(parse_form("user=alice%40example.org&pass=a+b%26c&empty=", 8, 64),
              (Pairs{{"user", "alice@example.org"}, {"pass", "a b&c"}, {"empty", ""}}));
    EXPECT_EQ(parse_form("", 8, 64), Pairs{});
    EXPECT_EQ(parse_form("a=b=c", 8, 64), (Pairs{{"a", "b=c"}}));
    EXPECT_EQ(parse_form("a=1&a=2", 8, 64), (Pairs{{"a", "1"}, {"a", "2"}}));
}

TEST(HttpForm, RefusesMalformedForms) {
    for (const char* bad : {"a", "=b", "a=1&", "&a=1", "a=1&&b=2", "a=%zz", "a%=1", "a=1&b"})
        EXPECT_FALSE(parse_form(bad, 8, 64).has_value()) << bad;
}

TEST(HttpForm, FormLimitsAtTheLimitAndOneOver) {
    EXPECT_TRUE(parse_form("a=1&b=2&c=3", 3, 64).has_value());
    EXPECT_FALSE(parse_form("a=1&b=2&c=3&d=4", 3, 64).has_value());
    // Sizes count decoded bytes: "%41%41%41" is three.
    EXPECT_TRUE(parse_form("n=%41%41%41", 8, 3).has_value());
    EXPECT_FALSE(parse_form("n=AAAA", 8, 3).has_value());
    EXPECT_TRUE(parse_form("abc=1", 8, 3).has_value());
    EXPECT_FALSE(parse_form("abcd=1", 8, 3).has_value());
    EXPECT_FALSE(parse_form("a=1", 0, 3).has_value());
}

TEST(HttpForm, SplitsOriginFormTargets) {
    const auto t = split_target("/account/keys%20old?tab=a+b&x=%41");
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->path, "/account/keys old");
    EXPECT_EQ(t->query, "tab=a+b&x=%41");
    EXPECT_EQ(split_target("/")->path, "/");
    EXPECT_EQ(split_target("/a+b/")->path, "/a+b/");
    EXPECT_EQ(split_target("/?")->query, "");
    EXPECT_EQ(split_target("/a?b?c/../")->query, "b?c/../");
    EXPECT_EQ(split_target("/a/.b/..c/...")->path, "/a/.b/..c/...");
}

TEST(HttpForm, RefusesTargetsThatNameAnotherFileOrSite) {
    for (const char* bad : {"*", "http://portal.example/", "portal.example:443", "", "a/b", "/a#frag", "/a b", "/%zz",
                            "/a%2Fb", "/a%2fb", "/../etc", "/a/..", "/a/./b", "/.", "/%2e%2E/x", "/a/%2e", "//evil.example",
                            "/a//b", "/%2F%2Fevil", "/\\evil.example", "/%5cevil", "/a%00b", "/a%0d%0aSet-Cookie:x",
                            "/a%7f", "/\xc3\xa9"})
        EXPECT_FALSE(split_target(bad).has_value()) << bad;
}

TEST(HttpForm, ParsesCookies) {
    using Cookies = std::vector<std::pair<std::string_view, std::string_view>>;
    EXPECT_EQ(parse_cookies("sid=abc; theme=dark", 8), (Cookies{{"sid", "abc"}, {"theme", "dark"}}));
    EXPECT_EQ(parse_cookies("a=\"quoted\";b=;c=x=y", 8), (Cookies{{"a", "quoted"}, {"b", ""}, {"c", "x=y"}}));
    // Malformed pairs are skipped, the others kept.
    EXPECT_EQ(parse_cookies("noequals; b@d=1; ok=1; sp=a b; q=\"x; c=\\x; e=1,2; =v; last=2;", 8),
              (Cookies{{"ok", "1"}, {"last", "2"}}));
    EXPECT_TRUE(parse_cookies("", 8).empty());
    EXPECT_EQ(parse_cookies("a=1; b=2; c=3", 2), (Cookies{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(parse_cookies("x; a=1; b=2", 2), (Cookies{{"a", "1"}, {"b", "2"}}));
    EXPECT_TRUE(parse_cookies("a=1", 0).empty());
    const std::string value = "k=v";
    const auto cookies = parse_cookies(value, 1);
    ASSERT_EQ(cookies.size(), 1U);
    EXPECT_EQ(cookies[0].second.data(), value.data() + 2);  // a view into the field, not a copy
}

}  // namespace
}  // namespace vmx::http
