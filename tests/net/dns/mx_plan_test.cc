// The MX delivery plan: order by preference, a seeded shuffle among equals, implicit MX, null MX,
// NXDOMAIN and temporary failures, the host cap, and the targets that must be skipped.
#include "net/dns/mx_plan.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace vmx::net::dns {
namespace {

struct Seeded {
    explicit Seeded(std::uint64_t seed) : engine(seed) {}
    std::mt19937_64 engine;
    RandomSource source() { return [this] { return engine(); }; }
};

std::vector<std::string> names(const MxPlan& plan) {
    std::vector<std::string> out;
    for (const MxHost& h : plan.hosts) out.push_back(h.name);
    return out;
}

MxPlan plan(std::string_view domain, DnsStatus status, const std::vector<MxRecord>& records,
            MxPlanLimits limits = {}, std::uint64_t seed = 1) {
    Seeded random(seed);
    return plan_mx(domain, status, records, limits, random.source());
}

TEST(MxPlan, OrdersByPreference) {
    const auto p = plan("example.test", DnsStatus::ok,
                        {{30, "c.example.test"}, {10, "A.Example.Test."}, {20, "b.example.test"}});
    EXPECT_EQ(p.action, MxPlanAction::deliver);
    EXPECT_EQ(p.reason, MxPlanReason::mx);
    EXPECT_EQ(names(p), (std::vector<std::string>{"a.example.test", "b.example.test", "c.example.test"}));
    EXPECT_EQ(p.hosts[0].preference, 10);
    EXPECT_EQ(p.skipped, 0u);
}

TEST(MxPlan, ShufflesEqualPreferencesOnly) {
    const std::vector<MxRecord> records = {{20, "z.test"}, {10, "a.test"}, {10, "b.test"}, {10, "c.test"},
                                           {10, "d.test"}, {5, "first.test"}};
    std::set<std::vector<std::string>> orders;
    for (std::uint64_t seed = 1; seed <= 64; ++seed) {
        const auto p = plan("example.test", DnsStatus::ok, records, {}, seed);
        ASSERT_EQ(p.hosts.size(), 6u);
        EXPECT_EQ(p.hosts.front().name, "first.test");
        EXPECT_EQ(p.hosts.back().name, "z.test");
        orders.insert(names(p));
    }
    EXPECT_GT(orders.size(), 8u);  // 24 orders possible among the four equals; 64 seeds find many
    // The same seed gives the same order: tests and replays are deterministic.
    EXPECT_EQ(names(plan("example.test", DnsStatus::ok, records, {}, 7)),
              names(plan("example.test", DnsStatus::ok, records, {}, 7)));
}

TEST(MxPlan, NoMxRecordsMeansTheDomainItself) {
    for (DnsStatus status : {DnsStatus::nodata, DnsStatus::ok}) {  // ok with no records: the same
        const auto p = plan("Example.Test.", status, {});
        EXPECT_EQ(p.action, MxPlanAction::deliver);
        EXPECT_EQ(p.reason, MxPlanReason::implicit_mx);
        EXPECT_EQ(names(p), std::vector<std::string>{"example.test"});
    }
}

TEST(MxPlan, NullMxBouncesAtOnce) {
    for (const char* root : {".", ""}) {
        const auto p = plan("example.test", DnsStatus::ok, {{0, root}});
        EXPECT_EQ(p.action, MxPlanAction::bounce);
        EXPECT_EQ(p.reason, MxPlanReason::null_mx);
        EXPECT_TRUE(p.hosts.empty());
    }
}

TEST(MxPlan, RootTargetBesideOtherRecordsIsSkipped) {
    // Not a null MX (RFC 7505 3 forbids mixing): the "." record is an invalid target.
    const auto p = plan("example.test", DnsStatus::ok, {{0, "."}, {10, "mx.example.test"}});
    EXPECT_EQ(p.action, MxPlanAction::deliver);
    EXPECT_EQ(names(p), std::vector<std::string>{"mx.example.test"});
    EXPECT_EQ(p.skipped, 1u);
    // A lone "." with a preference other than 0 is not a null MX either: nothing usable, defer.
    const auto q = plan("example.test", DnsStatus::ok, {{10, "."}});
    EXPECT_EQ(q.action, MxPlanAction::defer);
    EXPECT_EQ(q.reason, MxPlanReason::no_usable_mx);
}

TEST(MxPlan, NxdomainBouncesTemporaryFailureDefers) {
    const auto nx = plan("example.test", DnsStatus::nxdomain, {});
    EXPECT_EQ(nx.action, MxPlanAction::bounce);
    EXPECT_EQ(nx.reason, MxPlanReason::nxdomain);
    const auto temp = plan("example.test", DnsStatus::temp_failure, {{10, "mx.example.test"}});
    EXPECT_EQ(temp.action, MxPlanAction::defer);
    EXPECT_EQ(temp.reason, MxPlanReason::dns_temporary);
    EXPECT_TRUE(temp.hosts.empty());
}

TEST(MxPlan, InvalidDomainBounces) {
    for (const char* domain : {"", "192.0.2.1", "bad_name.test", "a..b"}) {
        const auto p = plan(domain, DnsStatus::nodata, {});
        EXPECT_EQ(p.action, MxPlanAction::bounce) << domain;
        EXPECT_EQ(p.reason, MxPlanReason::invalid_domain) << domain;
    }
}

TEST(MxPlan, SkipsLiteralsAndInvalidTargets) {
    const auto p = plan("example.test", DnsStatus::ok,
                        {{10, "192.0.2.1"}, {10, "[192.0.2.1]"}, {10, "2001:db8::1"}, {10, "bad_host.test"},
                         {10, "-x.test"}, {20, "good.example.test"}, {30, std::string(300, 'a')}});
    EXPECT_EQ(p.action, MxPlanAction::deliver);
    EXPECT_EQ(names(p), std::vector<std::string>{"good.example.test"});
    EXPECT_EQ(p.skipped, 6u);
}

TEST(MxPlan, OnlyLiteralsDefersWithoutImplicitMx) {
    const auto p = plan("example.test", DnsStatus::ok, {{10, "192.0.2.1"}, {20, "198.51.100.7"}});
    EXPECT_EQ(p.action, MxPlanAction::defer);
    EXPECT_EQ(p.reason, MxPlanReason::no_usable_mx);
    EXPECT_TRUE(p.hosts.empty());
    EXPECT_EQ(p.skipped, 2u);
}

TEST(MxPlan, DuplicatesKeepTheirBestPreference) {
    const auto p = plan("example.test", DnsStatus::ok,
                        {{30, "mx.example.test"}, {10, "MX.example.test."}, {20, "other.example.test"}});
    EXPECT_EQ(names(p), (std::vector<std::string>{"mx.example.test", "other.example.test"}));
    EXPECT_EQ(p.hosts[0].preference, 10);
    EXPECT_EQ(p.skipped, 1u);
}

TEST(MxPlan, CapsTheHostList) {
    std::vector<MxRecord> records;
    for (int i = 0; i < 25; ++i) records.push_back({static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".test"});
    const auto p = plan("example.test", DnsStatus::ok, records);
    ASSERT_EQ(p.hosts.size(), 10u);
    EXPECT_EQ(p.hosts.front().name, "mx0.test");
    EXPECT_EQ(p.hosts.back().name, "mx9.test");
    EXPECT_EQ(p.skipped, 15u);
    MxPlanLimits three;
    three.hosts_max = 3;
    EXPECT_EQ(plan("example.test", DnsStatus::ok, records, three).hosts.size(), 3u);
}

TEST(MxPlan, CapAmongEqualsTakesARandomSubset) {
    std::vector<MxRecord> records;
    for (int i = 0; i < 12; ++i) records.push_back({10, "mx" + std::to_string(i) + ".test"});
    std::set<std::string> seen;
    for (std::uint64_t seed = 1; seed <= 32; ++seed)
        for (const MxHost& h : plan("example.test", DnsStatus::ok, records, {}, seed).hosts) seen.insert(h.name);
    EXPECT_EQ(seen.size(), 12u);  // no host is starved by the cap
}

}  // namespace
}  // namespace vmx::net::dns
