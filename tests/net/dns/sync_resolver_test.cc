// SyncResolver (the workers' blocking look-ups) against a real unbound on loopback: TXT records
// with their strings joined, addresses, NXDOMAIN and NODATA, bad names, and a silent server answered
// by the caller's deadline.
#include "net/dns/sync_resolver.h"

#include <ares.h>
#include <gtest/gtest.h>

#include "net/dns/ares_category.h"
#include "net/errc.h"
#include "tests/net/dns/unbound_server.h"

namespace vmx::net::dns {
namespace {

using Clock = SyncResolver::Clock;
using namespace std::chrono_literals;

class SyncResolverTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string error;
        server_ = testing::UnboundServer::start(error).release();
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        ASSERT_NE(server_, nullptr);
        SyncResolverOptions o;
        o.servers = {server_->address()};
        o.query_timeout_ms = 1000;
        auto r = SyncResolver::create(o);
        ASSERT_TRUE(r) << r.error().message();
        resolver_ = std::move(*r);
    }
    static Clock::time_point soon() { return Clock::now() + 5s; }

    static testing::UnboundServer* server_;
    std::unique_ptr<SyncResolver> resolver_;
};
testing::UnboundServer* SyncResolverTest::server_ = nullptr;

TEST_F(SyncResolverTest, TxtStringsAreJoinedPerRecord) {
    const SyncAnswer a = resolver_->lookup("spf.example.test", RecordType::txt, soon());
    ASSERT_EQ(a.status, DnsStatus::ok);
    ASSERT_EQ(a.texts.size(), 2u);
    EXPECT_TRUE(std::find(a.texts.begin(), a.texts.end(), "v=spf1 ip4:192.0.2.0/24 -all") != a.texts.end());
    EXPECT_TRUE(std::find(a.texts.begin(), a.texts.end(), "unrelated") != a.texts.end());
}

TEST_F(SyncResolverTest, AddressesMxAndMissingNames) {
    const SyncAnswer a = resolver_->lookup("mx1.example.test", RecordType::a, soon());
    ASSERT_EQ(a.status, DnsStatus::ok);
    ASSERT_EQ(a.addresses.size(), 1u);
    EXPECT_EQ(a.addresses[0].to_string(), "192.0.2.1");
    const SyncAnswer aaaa = resolver_->lookup("mx1.example.test", RecordType::aaaa, soon());
    ASSERT_EQ(aaaa.status, DnsStatus::ok);
    EXPECT_EQ(aaaa.addresses[0].to_string(), "2001:db8::1");
    const SyncAnswer mx = resolver_->lookup("example.test", RecordType::mx, soon());
    ASSERT_EQ(mx.status, DnsStatus::ok);
    EXPECT_EQ(mx.mx.front().host, "mx1.example.test");
    EXPECT_EQ(resolver_->lookup("nope.example.test", RecordType::txt, soon()).status, DnsStatus::nxdomain);
    EXPECT_EQ(resolver_->lookup("mx1.example.test", RecordType::txt, soon()).status, DnsStatus::nodata);
}

TEST_F(SyncResolverTest, NamesAQueryCannotCarryAreRefusedWithoutAQuery) {
    for (const std::string& bad : {std::string(), std::string("a\0b.example.test", 16), std::string("sp ace.test"),
                                  std::string(300, 'a')}) {
        const SyncAnswer a = resolver_->lookup(bad, RecordType::txt, soon());
        EXPECT_EQ(a.status, DnsStatus::temp_failure);
        EXPECT_EQ(a.reason, make_error_code(NetErrc::dns_invalid_name));
    }
}

TEST_F(SyncResolverTest, APassedDeadlineAsksNothing) {
    const SyncAnswer a = resolver_->lookup("spf.example.test", RecordType::txt, Clock::now() - 1ms);
    EXPECT_EQ(a.status, DnsStatus::temp_failure);
    EXPECT_EQ(a.reason, ares_error(ARES_ETIMEOUT));
}

// The caller's deadline, not c-ares's retry schedule, bounds a look-up at a silent server; the
// resolver is usable again afterwards.
TEST(SyncResolver, SilentServerIsAnsweredByTheDeadline) {
    testing::SilentServer silent;
    SyncResolverOptions o;
    o.servers = {silent.address()};
    o.query_timeout_ms = 5000;
    auto r = SyncResolver::create(o);
    ASSERT_TRUE(r);
    for (int i = 0; i < 2; ++i) {
        const auto started = Clock::now();
        const SyncAnswer a = (*r)->lookup("spf.example.test", RecordType::txt, started + 300ms);
        const auto elapsed = Clock::now() - started;
        EXPECT_EQ(a.status, DnsStatus::temp_failure);
        EXPECT_EQ(a.reason, ares_error(ARES_ETIMEOUT));
        EXPECT_LT(elapsed, 3s);  // far below the 5 s c-ares would wait; generous for a loaded machine
    }
}

TEST(SyncResolver, RefusesABadServer) {
    SyncResolverOptions o;
    o.servers = {"not-an-address"};
    auto r = SyncResolver::create(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(NetErrc::dns_bad_server));
}

}  // namespace
}  // namespace vmx::net::dns
