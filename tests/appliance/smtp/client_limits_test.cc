// The MX's per-client counts on an explicit clock: open connections, the connection, message and
// recipient rates per minute, 0 as "no limit", independence of addresses, and the memory bound.
#include "appliance/smtp/client_limits.h"

#include <gtest/gtest.h>

namespace vmx {
namespace {

ClientLimitOptions options() {
    ClientLimitOptions o;
    o.connections_max = 2;
    o.connections_per_minute = 4;
    o.messages_per_minute = 3;
    o.recipients_per_minute = 5;
    o.tracked_max = 64;
    return o;
}

TEST(ClientLimits, OpenConnections) {
    ClientLimits limits(options());
    EXPECT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
    EXPECT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
    EXPECT_EQ(limits.connect("192.0.2.1", 0), Admission::too_many_connections);
    EXPECT_EQ(limits.connect("192.0.2.2", 0), Admission::admitted);  // another address
    limits.disconnect("192.0.2.1");
    EXPECT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
}

TEST(ClientLimits, ConnectionRate) {
    ClientLimits limits(options());
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(limits.connect("192.0.2.1", i), Admission::admitted);
        limits.disconnect("192.0.2.1");
    }
    EXPECT_EQ(limits.connect("192.0.2.1", 10), Admission::too_fast);
    EXPECT_EQ(limits.connect("192.0.2.1", 60'000), Admission::admitted);  // a new minute
}

TEST(ClientLimits, MessagesAndRecipientsPerMinute) {
    ClientLimits limits(options());
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.message("192.0.2.1", 0));
    EXPECT_FALSE(limits.message("192.0.2.1", 59'999));
    EXPECT_TRUE(limits.message("192.0.2.1", 60'000));
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(limits.recipient("192.0.2.1", 0));
    EXPECT_FALSE(limits.recipient("192.0.2.1", 1));
    EXPECT_TRUE(limits.recipient("192.0.2.9", 1));
}

TEST(ClientLimits, ZeroMeansNoLimit) {
    ClientLimitOptions o;
    o.connections_max = 0;
    o.connections_per_minute = 0;
    o.messages_per_minute = 0;
    o.recipients_per_minute = 0;
    ClientLimits limits(o);
    for (int i = 0; i < 1000; ++i) {
        EXPECT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
        EXPECT_TRUE(limits.message("192.0.2.1", 0));
        EXPECT_TRUE(limits.recipient("192.0.2.1", 0));
    }
}

TEST(ClientLimits, ExemptNetworks) {
    ClientLimitOptions o = options();
    o.exempt = NetworkList::parse({"127.0.0.0/8"});
    ClientLimits limits(o);
    EXPECT_TRUE(limits.exempt(parse_socket_address("127.0.0.9:25").value()));
    EXPECT_FALSE(limits.exempt(parse_socket_address("192.0.2.1:25").value()));
}

TEST(ClientLimits, RemembersABoundedNumberOfIdleAddresses) {
    ClientLimits limits(options());
    for (int i = 0; i < 5000; ++i) {
        const std::string address = "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        ASSERT_EQ(limits.connect(address, i), Admission::admitted);
        limits.disconnect(address);
    }
    EXPECT_LE(limits.tracked(), 64u + 16u);
    // An address with a connection open is never forgotten: its count stays right.
    ASSERT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
    ASSERT_EQ(limits.connect("192.0.2.1", 0), Admission::admitted);
    for (int i = 0; i < 5000; ++i) {
        const std::string address = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250);
        (void)limits.connect(address, 100'000 + i);
        limits.disconnect(address);
    }
    EXPECT_EQ(limits.connect("192.0.2.1", 200'000), Admission::too_many_connections);
}

}  // namespace
}  // namespace vmx
