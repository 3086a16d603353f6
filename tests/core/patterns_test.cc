// The named input patterns: good and hostile cases for each (NUL, CR/LF, overlong, empty labels,
// leading hyphens, invalid and overlong UTF-8), and the error value that names the pattern.
#include <gtest/gtest.h>

#include <string>

#include "core/patterns.h"

namespace vmx {
namespace {

using namespace std::string_literals;

void expect_all(Pattern p, std::initializer_list<std::string> good, std::initializer_list<std::string> bad) {
    for (const auto& s : good) EXPECT_TRUE(matches(p, s)) << pattern_name(p) << " should accept: " << s;
    for (const auto& s : bad) EXPECT_FALSE(matches(p, s)) << pattern_name(p) << " should refuse: " << s;
}

const std::string label63(63, 'a');
const std::string label64(64, 'a');

TEST(Patterns, Domain) {
    // 4 labels of 63 + 3 dots = 255 bytes: over 253; 3 x 63 + "." + 61 = 253 exactly.
    const std::string d253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    expect_all(Pattern::domain,
               {"example.org", "a.b", "localhost", "xn--bcher-kva.example", "mail-1.example.com", label63 + ".org",
                d253, "EXAMPLE.ORG"},
               {"", ".", "example..org", ".example.org", "example.org.", "-a.org", "a-.org", label64 + ".org",
                d253 + "c", "exa mple.org", "exa_mple.org", "ex\0a.org"s, "ex\r\na.org", "ab--cd.org", "xn--.org",
                "1.2.3.4", "example.123", "bücher.example", "[1.2.3.4]"});
}

TEST(Patterns, DomainUtf8) {
    expect_all(Pattern::domain_utf8,
               {"bücher.example", "example.org", "\xe4\xbe\x8b\xe3\x81\x88.jp", "xn--bcher-kva.example"},
               {"", "b\xc3.example", "\xc0\xaf.example", "\xe0\x80\xaf.example", "\xed\xa0\x80.example",
                "\xf4\x90\x80\x80.example", "-bücher.example", "bü cher.example", "b\xc2\x85x.example",
                "a\xe2\x80\x8b.example", "a..example", "bücher.123"});
}

TEST(Patterns, LocalParts) {
    expect_all(Pattern::local_part, {"user", "first.last", "a+tag", "o'brien", "x!y%z", std::string(64, 'u')},
               {"", ".user", "user.", "us..er", "us er", "\"quoted\"", "us@er", std::string(65, 'u'), "us\0er"s,
                "us\rer", "us\ner", "usér"});
    expect_all(Pattern::local_part_smtp, {"user", "\"john doe\"", "\"a\\\"b\"", "\"a@b\""},
               {"\"\"", "\"unterminated", "\"a\\\"", "\"a\rb\"", "\"a\0b\""s, "\"a\"b\""});
    expect_all(Pattern::local_part_utf8, {"josé", "用户", "first.last"},
               {"jos\xc3", "a\xc0\xa0", "a\xef\xbb\xbf", "\"josé\"", "jo..sé"});
}

TEST(Patterns, Addresses) {
    const std::string long_local = std::string(64, 'u') + "@" + label63 + "." + label63 + "." + label63 + ".org";
    expect_all(Pattern::address, {"user@example.org", "a.b+c@sub.example.org", "postmaster@localhost"},
               {"", "user", "@example.org", "user@", "user@@example.org", "us er@example.org",
                "user@[1.2.3.4]", "\"a@b\"@example.org", "user@example.org\r\n", "user@exa\0mple.org"s,
                long_local, "josé@example.org", "a@b@example.org"});
    expect_all(Pattern::mailbox_address_utf8, {"josé@bücher.example", "user@example.org"},
               {"jos\xc3@example.org", "josé@b\xc3\xbc\xc3.example", "josé@", "\xc0\x80@example.org"});
}

TEST(Patterns, AddressLiteralsAndHelo) {
    expect_all(Pattern::address_literal, {"[192.0.2.1]", "[IPv6:2001:db8::1]", "[ipv6:::1]"},
               {"[]", "192.0.2.1", "[192.0.2.256]", "[IPv6:192.0.2.1]", "[2001:db8::1]", "[IPv6:2001:db8:::1]",
                "[192.0.2.01]"});
    expect_all(Pattern::helo_name, {"mail.example.org", "[192.0.2.1]", "[IPv6:::1]"},
               {"", "mail example", "mail.example.org\r", "[1.2.3]", "x\0y"s});
}

TEST(Patterns, DirectoryNames) {
    expect_all(Pattern::org_name, {"Acme Inc.", "a", "x-y_z.1", std::string(64, 'o')},
               {"", " Acme", "Acme ", "Acme/Inc", "Acme\tInc", "Acme\nInc", std::string(65, 'o'), "Ácme"});
    expect_all(Pattern::label, {"phone", "Laptop 2", "a.b-c_d", std::string(32, 'l')},
               {"", std::string(33, 'l'), "a:b", "a\0b"s, "tab\t"});
    expect_all(Pattern::plan_name, {"starter", "pro", "ultimate", "gold-2"}, {"", "Pro", "1pro", "pro plan", "-pro"});
    expect_all(Pattern::dkim_selector, {"vmx20261206", "vmx20261206-2", "s1", "2026", "a-", std::string(63, 's')},
               {"", "-a", "Vmx", "a.b", "a_b", "a/b", "a b", std::string(64, 's'), "a\0b"s});
}

TEST(Patterns, IpAddressesAndCidr) {
    expect_all(Pattern::ipv4, {"0.0.0.0", "192.0.2.1", "255.255.255.255"},
               {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "1..3.4", "a.b.c.d", "1234.1.1.1"});
    expect_all(Pattern::ipv6,
               {"::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "fe80::1:2", "1:2:3:4:5:6::"},
               {"", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "1:2:3:4:5:6:7", "g::1", "1:", ":1",
                "::ffff:1.2.3", "1.2.3.4::", "1:2:3:4:5:6:7:1.2.3.4"});
    // Found by patterns_fuzz: "::" after eight groups (a ninth group at least) was taken as no "::".
    expect_all(Pattern::ipv6, {"1:2:3:4:5:6:7::"}, {"1:2:3:4:5:6:7:8::", "1:202:3:20:001:d:5:6b81::"});
    expect_all(Pattern::ipv6_cidr, {}, {"1:2:3:4:5:6:7:8::/128"});
    expect_all(Pattern::ipv4_cidr, {"10.0.0.0/8", "192.0.2.1", "192.0.2.1/32", "0.0.0.0/0"},
               {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/8/8"});
    expect_all(Pattern::ipv6_cidr, {"2001:db8::/32", "::1/128", "::/0"}, {"2001:db8::1/32", "::/129", "::/"});
}

TEST(Patterns, EsmtpParameters) {
    expect_all(Pattern::esmtp_keyword, {"SIZE", "BODY", "X-FOO", "8BITMIME"}, {"", "-X", "SI ZE", "SIZE=", "BÖDY"});
    expect_all(Pattern::esmtp_value, {"1000", "8BITMIME", "a+b"}, {"", "a=b", "a b", "a\x7f", "\x01"});
}

TEST(Patterns, Utf8Helper) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii"));
    EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x93\xa7"));     // U+1F4E7
    EXPECT_FALSE(is_valid_utf8("\xc0\x80"));            // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\x80"));        // overlong 3-byte
    EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\x80"));    // overlong 4-byte
    EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));        // surrogate
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\x80"));                // lone continuation
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));            // truncated
    EXPECT_FALSE(is_valid_utf8("\xff"));
    EXPECT_TRUE(is_ascii("abc"));
    EXPECT_FALSE(is_ascii("ab\x80"));
}

TEST(Patterns, ErrorsNameThePattern) {
    EXPECT_TRUE(validate(Pattern::domain, "example.org"));
    auto bad = validate(Pattern::address, "no at sign");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().category().name(), std::string("vmx.pattern"));
    EXPECT_EQ(bad.error().message(), "invalid address");
    EXPECT_EQ(validate(Pattern::org_name, "").error().message(), "invalid organisation name");
    EXPECT_EQ(pattern_name(Pattern::domain), "domain");
    EXPECT_EQ(pattern_bytes_max(Pattern::address), 254u);
    for (std::size_t i = 0; i < pattern_count; ++i) {
        const auto p = static_cast<Pattern>(i);
        EXPECT_FALSE(pattern_name(p).empty());
        EXPECT_FALSE(matches(p, "")) << pattern_name(p);
        EXPECT_FALSE(matches(p, std::string(pattern_bytes_max(p) + 1, 'a'))) << pattern_name(p);
    }
}

}  // namespace
}  // namespace vmx
