// Name checks: what the resolver may ask for, what may be a mail host, numeric names, canonical form.
#include "net/dns/dns_name.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx::net::dns {
namespace {

TEST(DnsName, QueryNames) {
    EXPECT_TRUE(is_query_name("example.test", 253));
    EXPECT_TRUE(is_query_name("example.test.", 253));
    EXPECT_TRUE(is_query_name("_25._tcp.mx1.example.test", 253));
    EXPECT_TRUE(is_query_name("localhost", 253));
    EXPECT_FALSE(is_query_name("", 253));
    EXPECT_FALSE(is_query_name(".", 253));
    EXPECT_FALSE(is_query_name(".example.test", 253));
    EXPECT_FALSE(is_query_name("example..test", 253));
    EXPECT_FALSE(is_query_name("exa mple.test", 253));
    EXPECT_FALSE(is_query_name("ex\\046ample.test", 253));  // c-ares would read escapes: refuse them
    EXPECT_FALSE(is_query_name("b\xc3\xa4r.test", 253));
    EXPECT_FALSE(is_query_name(std::string(64, 'a') + ".test", 253));
    EXPECT_TRUE(is_query_name(std::string(63, 'a') + ".test", 253));
    EXPECT_FALSE(is_query_name("abcdef.test", 10));
    EXPECT_TRUE(is_query_name("abcd.test.", 9));  // the trailing dot does not count
}

TEST(DnsName, HostNames) {
    EXPECT_TRUE(is_host_name("mx1.example.test", 253));
    EXPECT_TRUE(is_host_name("MX-1.Example.Test.", 253));
    EXPECT_FALSE(is_host_name("_25._tcp.example.test", 253));
    EXPECT_FALSE(is_host_name("-mx.example.test", 253));
    EXPECT_FALSE(is_host_name("mx-.example.test", 253));
    EXPECT_FALSE(is_host_name("192.0.2.1", 253));
    EXPECT_FALSE(is_host_name("[192.0.2.1]", 253));
    EXPECT_FALSE(is_host_name("2001:db8::1", 253));
    EXPECT_FALSE(is_host_name(".", 253));
    EXPECT_TRUE(is_host_name("1.2.3.example", 253));
}

TEST(DnsName, NumericAndCanonical) {
    EXPECT_TRUE(is_numeric_name("192.0.2.1"));
    EXPECT_TRUE(is_numeric_name("192.0.2.1."));
    EXPECT_TRUE(is_numeric_name("12345"));
    EXPECT_FALSE(is_numeric_name("mx.123a"));
    EXPECT_FALSE(is_numeric_name(""));
    EXPECT_EQ(canonical_name("MX1.Example.TEST."), "mx1.example.test");
    EXPECT_EQ(canonical_name("a"), "a");
}

}  // namespace
}  // namespace vmx::net::dns
