// CIDR parsing and matching: both families, mapped IPv4, refusal of host bits and bad prefixes.
#include "core/network_range.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx {
namespace {

SocketAddress addr(const char* text) {
    auto a = parse_socket_address(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a ? *a : SocketAddress{};
}

TEST(NetworkRange, Parses) {
    for (const char* ok : {"192.0.2.0/24", "10.0.0.0/8", "0.0.0.0/0", "192.0.2.7", "192.0.2.7/32", "2001:db8::/32",
                           "::1", "::1/128", "::/0", "fe80::/10"})
        EXPECT_TRUE(parse_network(ok).has_value()) << ok;
    for (const char* bad : {"", "/", "192.0.2.0/", "192.0.2.0/33", "192.0.2.1/24", "10.0.0.0/8/8", "10.0.0/8",
                            "2001:db8::/129", "2001:db8::1/32", "example.org", "192.0.2.0/+8", "192.0.2.0/08x",
                            "::1/1281", " 10.0.0.0/8"})
        EXPECT_FALSE(parse_network(bad).has_value()) << bad;
}

// Found by network_range_fuzz: a range of IPv4-mapped addresses parsed but matched nothing (such a
// peer is compared as IPv4), and text was read only up to a NUL.
TEST(NetworkRange, RefusesWhatWouldMatchOtherThanWritten) {
    using namespace std::string_literals;
    for (const std::string& bad : {"::ffff:192.0.2.0/120"s, "::ffff:0:0/96"s, "::ffff:192.0.2.7"s, "10.0.0.0\0/8"s,
                                  "::1\0\0\0\0\0\0\0\x80\x30\x31"s, "192.0.2.7\0"s})
        EXPECT_FALSE(parse_network(bad).has_value()) << bad;
    // Wider ranges that only include the mapped block still parse; they match IPv6 peers.
    EXPECT_TRUE(parse_network("::/0").has_value());
    EXPECT_TRUE(parse_network("::/80").has_value());
    EXPECT_TRUE(NetworkList::parse({"192.0.2.0/24"}).contains(addr("[::ffff:192.0.2.9]:25")));
}

TEST(NetworkRange, Matches) {
    const NetworkList list = NetworkList::parse({"192.0.2.0/25", "2001:db8:1::/48", "127.0.0.2"});
    EXPECT_TRUE(list.contains(addr("192.0.2.0:25")));
    EXPECT_TRUE(list.contains(addr("192.0.2.127:25")));
    EXPECT_FALSE(list.contains(addr("192.0.2.128:25")));
    EXPECT_TRUE(list.contains(addr("[::ffff:192.0.2.5]:25")));  // IPv4 seen through an IPv6 socket
    EXPECT_TRUE(list.contains(addr("[2001:db8:1:ffff::9]:25")));
    EXPECT_FALSE(list.contains(addr("[2001:db8:2::9]:25")));
    EXPECT_TRUE(list.contains(addr("127.0.0.2:1")));
    EXPECT_FALSE(list.contains(addr("127.0.0.3:1")));
    EXPECT_TRUE(list.contains_host("192.0.2.1"));
    EXPECT_TRUE(list.contains_host("2001:db8:1::1"));
    EXPECT_FALSE(list.contains_host("198.51.100.1"));
    EXPECT_FALSE(list.contains_host("not an address"));
    EXPECT_FALSE(NetworkList{}.contains(addr("192.0.2.1:1")));
    EXPECT_TRUE(NetworkList::parse({"0.0.0.0/0"}).contains(addr("203.0.113.9:1")));
    EXPECT_FALSE(NetworkList::parse({"0.0.0.0/0"}).contains(addr("[2001:db8::1]:1")));
    // A prefix that ends inside a byte.
    const NetworkList odd = NetworkList::parse({"10.0.0.0/9"});
    EXPECT_TRUE(odd.contains(addr("10.127.255.255:1")));
    EXPECT_FALSE(odd.contains(addr("10.128.0.0:1")));
}

}  // namespace
}  // namespace vmx
