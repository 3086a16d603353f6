// DnsResolver against a real unbound on loopback: MX, AAAA+A, NODATA, NXDOMAIN, null MX, limits,
// a silent server (timeout) and a closed port (refused), many lookups at once, busy, and
// destruction with lookups in flight. Answers are collected the way a shard would: poll the
// completion fd, then drain.
#include "net/dns/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>

#include "net/dns/ares_category.h"
#include "net/dns/mx_plan.h"
#include "net/errc.h"
#include "tests/net/dns/unbound_server.h"

#include <ares.h>

namespace vmx::net::dns {
namespace {

using Clock = std::chrono::steady_clock;
using testing::SilentServer;
using testing::UnboundServer;

class ResolverTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string error;
        server_ = UnboundServer::start(error).release();
        if (server_ == nullptr) start_error_ = new std::string(error);
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override { ASSERT_NE(server_, nullptr) << *start_error_; }

    DnsResolverOptions options() const {
        DnsResolverOptions o;
        o.servers = {server_->address()};
        o.query_timeout_ms = 1000;
        o.query_tries = 2;
        return o;
    }

    static UnboundServer* server_;
    static std::string* start_error_;
};
UnboundServer* ResolverTest::server_ = nullptr;
std::string* ResolverTest::start_error_ = nullptr;

// Waits on the completion fd as a shard's poll would, until `count` answers arrived or timeout.
std::map<std::uint64_t, DnsAnswer> collect(DnsResolver& r, std::size_t count, int timeout_ms = 10000) {
    std::map<std::uint64_t, DnsAnswer> out;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out.size() < count && Clock::now() < deadline) {
        pollfd p{r.completion_fd(), POLLIN, 0};
        ::poll(&p, 1, 100);
        r.drain([&](DnsAnswer&& a) {
            EXPECT_EQ(out.count(a.token), 0u) << "answered twice: " << a.token;
            out.emplace(a.token, std::move(a));
        });
    }
    return out;
}

DnsAnswer one(DnsResolver& r, std::uint64_t token, int timeout_ms = 10000) {
    auto answers = collect(r, 1, timeout_ms);
    EXPECT_EQ(answers.count(token), 1u);
    EXPECT_EQ(r.in_flight(), 0u);
    return answers.empty() ? DnsAnswer{} : answers.begin()->second;
}

std::vector<std::string> strings(const std::vector<IpAddress>& addresses) {
    std::vector<std::string> out;
    for (const IpAddress& a : addresses) out.push_back(a.to_string());
    return out;
}

TEST_F(ResolverTest, MxRecordsByPreference) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_mx("example.test", 7));
    const DnsAnswer a = one(r, 7);
    EXPECT_EQ(a.token, 7u);
    EXPECT_EQ(a.query, DnsQuery::mx);
    ASSERT_EQ(a.status, DnsStatus::ok) << a.reason.message();
    EXPECT_FALSE(a.secure);  // unbound's local data is not validated: AD stays clear
    ASSERT_EQ(a.mx.size(), 2u);
    EXPECT_EQ(a.mx[0].preference, 10);
    EXPECT_EQ(a.mx[0].host, "mx1.example.test");
    EXPECT_EQ(a.mx[1].host, "mx2.example.test");
}

TEST_F(ResolverTest, AddressesBothFamiliesIpv6First) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_addresses("mx1.example.test.", 1));
    const DnsAnswer a = one(r, 1);
    ASSERT_EQ(a.status, DnsStatus::ok);
    EXPECT_EQ(strings(a.addresses), (std::vector<std::string>{"2001:db8::1", "192.0.2.1"}));
    EXPECT_EQ(a.addresses[1].with_port(25).to_string(), "192.0.2.1:25");

    ASSERT_TRUE(r.lookup_addresses("mx2.example.test", 2));  // A only: AAAA is NODATA
    const DnsAnswer v4 = one(r, 2);
    ASSERT_EQ(v4.status, DnsStatus::ok);
    EXPECT_EQ(strings(v4.addresses), std::vector<std::string>{"192.0.2.2"});

    ASSERT_TRUE(r.lookup_addresses("v6only.example.test", 3));
    const DnsAnswer v6 = one(r, 3);
    ASSERT_EQ(v6.status, DnsStatus::ok);
    EXPECT_EQ(strings(v6.addresses), std::vector<std::string>{"2001:db8::6"});
}

TEST_F(ResolverTest, NodataNxdomainAndNullMx) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_mx("nomx.example.test", 1));
    ASSERT_TRUE(r.lookup_mx("nosuch.example.test", 2));
    ASSERT_TRUE(r.lookup_mx("nullmx.example.test", 3));
    ASSERT_TRUE(r.lookup_addresses("nosuch.example.test", 4));
    ASSERT_TRUE(r.lookup_addresses("example.test", 5));  // the domain has MX only: no address
    auto answers = collect(r, 5);
    ASSERT_EQ(answers.size(), 5u);
    EXPECT_EQ(answers[1].status, DnsStatus::nodata);
    EXPECT_EQ(answers[2].status, DnsStatus::nxdomain);
    ASSERT_EQ(answers[3].status, DnsStatus::ok);
    ASSERT_EQ(answers[3].mx.size(), 1u);
    EXPECT_EQ(answers[3].mx[0].host, ".");
    EXPECT_EQ(answers[3].mx[0].preference, 0);
    EXPECT_EQ(answers[4].status, DnsStatus::nxdomain);
    EXPECT_EQ(answers[5].status, DnsStatus::nodata);
    EXPECT_TRUE(answers[5].addresses.empty());
}

// The whole path delivery will take: MX answer -> plan -> addresses of each host.
TEST_F(ResolverTest, PlansFromRealAnswers) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    std::mt19937_64 engine(1);
    const RandomSource random = [&] { return engine(); };
    const std::map<std::string, std::pair<MxPlanAction, MxPlanReason>> expected = {
        {"example.test", {MxPlanAction::deliver, MxPlanReason::mx}},
        {"nomx.example.test", {MxPlanAction::deliver, MxPlanReason::implicit_mx}},
        {"nullmx.example.test", {MxPlanAction::bounce, MxPlanReason::null_mx}},
        {"nosuch.example.test", {MxPlanAction::bounce, MxPlanReason::nxdomain}},
        {"literal.example.test", {MxPlanAction::defer, MxPlanReason::no_usable_mx}},
    };
    std::uint64_t token = 0;
    for (const auto& [domain, want] : expected) {
        ASSERT_TRUE(r.lookup_mx(domain, ++token));
        const DnsAnswer a = one(r, token);
        const MxPlan plan = plan_mx(domain, a.status, a.mx, MxPlanLimits{}, random);
        EXPECT_EQ(plan.action, want.first) << domain;
        EXPECT_EQ(plan.reason, want.second) << domain << " " << to_string(plan.reason);
        if (domain == "nomx.example.test") {
            ASSERT_EQ(plan.hosts.size(), 1u);
            ASSERT_TRUE(r.lookup_addresses(plan.hosts[0].name, ++token));
            EXPECT_EQ(strings(one(r, token).addresses), std::vector<std::string>{"192.0.2.10"});
        }
    }
}

TEST_F(ResolverTest, RecordLimitTruncates) {
    DnsResolverOptions o = options();
    o.records_per_answer_max = 3;
    DnsResolver r(o);
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_addresses("many.example.test", 1));
    const DnsAnswer a = one(r, 1);
    ASSERT_EQ(a.status, DnsStatus::ok);
    EXPECT_EQ(a.addresses.size(), 3u);
    EXPECT_TRUE(a.truncated);
    ASSERT_TRUE(r.lookup_addresses("mx1.example.test", 2));
    EXPECT_FALSE(one(r, 2).truncated);
}

// More queries than queries_on_wire_max: the rest wait their turn, and no answer is dropped on the
// way (a dropped one would cost a 3 s timeout).
// A truncated UDP answer is asked again over TCP (c-ares does it; our loop must watch the socket
// for writing while it connects), then cut to records_per_answer_max.
TEST_F(ResolverTest, LargeAnswerOverTcpIsCapped) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_addresses("big.example.test", 1));
    const DnsAnswer a = one(r, 1);
    ASSERT_EQ(a.status, DnsStatus::ok) << a.reason.message();
    EXPECT_EQ(a.addresses.size(), 64u);
    EXPECT_TRUE(a.truncated);
}

TEST_F(ResolverTest, ManyLookupsAtOnceEachAnsweredOnce) {
    DnsResolverOptions o = options();
    o.query_timeout_ms = 3000;
    DnsResolver r(o);
    ASSERT_TRUE(r.start());
    const auto started = Clock::now();
    constexpr std::uint64_t count = 300;
    for (std::uint64_t t = 0; t < count; ++t) {
        const bool mx = t % 3 == 0;
        auto queued = mx ? r.lookup_mx(t % 2 ? "example.test" : "nosuch.example.test", t)
                         : r.lookup_addresses(t % 2 ? "mx1.example.test" : "mx2.example.test", t);
        ASSERT_TRUE(queued);
    }
    auto answers = collect(r, count, 20000);
    ASSERT_EQ(answers.size(), count);
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count(), 3000);
    for (auto& [t, a] : answers) {
        if (t % 3 == 0 && t % 2) {
            EXPECT_EQ(a.mx.size(), 2u) << t;
        } else if (t % 3 == 0) {
            EXPECT_EQ(a.status, DnsStatus::nxdomain) << t;
        } else {
            EXPECT_EQ(a.addresses.size(), t % 2 ? 2u : 1u) << t;
        }
    }
    EXPECT_EQ(r.in_flight(), 0u);
    EXPECT_EQ(r.stats().answers.load(), count);
}

TEST_F(ResolverTest, RefusesInvalidNamesAndBadServers) {
    DnsResolver r(options());
    ASSERT_TRUE(r.start());
    EXPECT_EQ(r.lookup_mx("", 1).error(), NetErrc::dns_invalid_name);
    EXPECT_EQ(r.lookup_mx("a..b", 1).error(), NetErrc::dns_invalid_name);
    EXPECT_EQ(r.lookup_addresses(std::string(254, 'a'), 1).error(), NetErrc::dns_invalid_name);
    EXPECT_EQ(r.in_flight(), 0u);
    for (const char* bad : {"127.0.0.1", "localhost:53", "127.0.0.1:99999", "[::1]"}) {
        DnsResolverOptions o;
        o.servers = {bad};
        DnsResolver bad_server(o);
        const auto started = bad_server.start();
        ASSERT_FALSE(started) << bad;
        EXPECT_EQ(started.error(), NetErrc::dns_bad_server) << bad;
    }
}

// A UDP socket bound and never read: queries vanish, as with a dead resolver behind a firewall.
TEST_F(ResolverTest, SilentServerTimesOutWithinTheBound) {
    SilentServer silent;
    DnsResolverOptions o;
    o.servers = {silent.address()};
    o.query_timeout_ms = 200;
    o.query_tries = 2;
    DnsResolver r(o);
    ASSERT_TRUE(r.start());
    EXPECT_EQ(r.answer_time_max_ms(1), 600u);  // 200 + 400
    const auto started = Clock::now();
    ASSERT_TRUE(r.lookup_addresses("mx1.example.test", 9));
    const DnsAnswer a = one(r, 9, 5000);
    const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    EXPECT_EQ(a.status, DnsStatus::temp_failure);
    EXPECT_EQ(a.reason, ares_error(ARES_ETIMEOUT)) << a.reason.message();
    EXPECT_GE(elapsed_ms, 200);
    EXPECT_LE(elapsed_ms, 600 + 400);  // the bound, with slack for a loaded machine
    EXPECT_EQ(r.stats().timeouts.load(), 1u);
}

TEST_F(ResolverTest, ClosedPortIsATemporaryFailure) {
    DnsResolverOptions o;
    o.servers = {"127.0.0.1:" + std::to_string(testing::free_loopback_port())};
    o.query_timeout_ms = 200;
    o.query_tries = 2;
    DnsResolver r(o);
    ASSERT_TRUE(r.start());
    ASSERT_TRUE(r.lookup_mx("example.test", 1));
    const DnsAnswer a = one(r, 1, 5000);
    EXPECT_EQ(a.status, DnsStatus::temp_failure);
    EXPECT_TRUE(a.reason) << "a reason is always given";
}

TEST_F(ResolverTest, BusyAtTheLimitThenDestroyedWithLookupsInFlight) {
    SilentServer silent;
    DnsResolverOptions o;
    o.servers = {silent.address()};
    o.query_timeout_ms = 5000;
    o.requests_in_flight_max = 2;
    const auto started = Clock::now();
    {
        DnsResolver r(o);
        ASSERT_TRUE(r.start());
        ASSERT_TRUE(r.lookup_mx("example.test", 1));
        ASSERT_TRUE(r.lookup_addresses("mx1.example.test", 2));
        const auto busy = r.lookup_mx("example.test", 3);
        ASSERT_FALSE(busy);
        EXPECT_EQ(busy.error(), NetErrc::dns_busy);
        EXPECT_EQ(r.stats().busy.load(), 1u);
        EXPECT_EQ(r.in_flight(), 2u);
    }  // the destructor ends both lookups without waiting for their 5 s timeouts; answers are dropped
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count(), 2000);
}

TEST(Resolver, StartsOnTheSystemConfiguration) {
    DnsResolver r(DnsResolverOptions{});  // /etc/resolv.conf; nothing is asked
    EXPECT_TRUE(r.start());
}

}  // namespace
}  // namespace vmx::net::dns
