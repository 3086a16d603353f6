// The MX delivery plan (see mx_plan.h): decide the action first, then build the host list.
#include "net/dns/mx_plan.h"

#include <algorithm>

#include "net/dns/dns_name.h"

namespace vmx::net::dns {
namespace {

MxPlan decided(MxPlanAction action, MxPlanReason reason) {
    MxPlan plan;
    plan.action = action;
    plan.reason = reason;
    return plan;
}

// RFC 7505 3: a null MX is exactly one record, preference 0, target the root.
bool is_null_mx(std::span<const MxRecord> records) {
    return records.size() == 1 && records[0].preference == 0 &&
           (records[0].host == "." || records[0].host.empty());
}

// Fisher-Yates over each run of equal preference; `hosts` is already sorted by preference.
void shuffle_equal_preferences(std::vector<MxHost>& hosts, const RandomSource& random) {
    std::size_t start = 0;
    while (start < hosts.size()) {
        std::size_t end = start + 1;
        while (end < hosts.size() && hosts[end].preference == hosts[start].preference) ++end;
        for (std::size_t i = end - start; i > 1; --i) {
            const std::size_t j = static_cast<std::size_t>(random() % i);
            std::swap(hosts[start + i - 1], hosts[start + j]);
        }
        start = end;
    }
}

// Valid targets in canonical form, each host once at its best preference.
std::vector<MxHost> usable_hosts(std::span<const MxRecord> records, const MxPlanLimits& limits,
                                 std::size_t& skipped) {
    std::vector<MxHost> hosts;
    hosts.reserve(records.size());
    for (const MxRecord& r : records) {
        if (!is_host_name(r.host, limits.name_bytes_max)) {
            ++skipped;
            continue;
        }
        hosts.push_back(MxHost{canonical_name(r.host), r.preference});
    }
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    std::vector<MxHost> unique;
    unique.reserve(hosts.size());
    for (MxHost& h : hosts) {
        const bool seen = std::any_of(unique.begin(), unique.end(), [&](const MxHost& u) { return u.name == h.name; });
        if (seen) ++skipped;
        else unique.push_back(std::move(h));
    }
    return unique;
}

}  // namespace

const char* to_string(MxPlanReason reason) noexcept {
    switch (reason) {
        case MxPlanReason::mx: return "mx";
        case MxPlanReason::implicit_mx: return "implicit_mx";
        case MxPlanReason::null_mx: return "null_mx";
        case MxPlanReason::nxdomain: return "nxdomain";
        case MxPlanReason::invalid_domain: return "invalid_domain";
        case MxPlanReason::dns_temporary: return "dns_temporary";
        case MxPlanReason::no_usable_mx: return "no_usable_mx";
    }
    return "unknown";
}

MxPlan plan_mx(std::string_view domain, DnsStatus status, std::span<const MxRecord> records,
               const MxPlanLimits& limits, const RandomSource& random) {
    if (!is_host_name(domain, limits.name_bytes_max)) return decided(MxPlanAction::bounce, MxPlanReason::invalid_domain);
    if (status == DnsStatus::temp_failure) return decided(MxPlanAction::defer, MxPlanReason::dns_temporary);
    if (status == DnsStatus::nxdomain) return decided(MxPlanAction::bounce, MxPlanReason::nxdomain);
    if (status == DnsStatus::nodata || records.empty()) {
        MxPlan plan = decided(MxPlanAction::deliver, MxPlanReason::implicit_mx);
        plan.hosts.push_back(MxHost{canonical_name(domain), 0});
        return plan;
    }
    if (is_null_mx(records)) return decided(MxPlanAction::bounce, MxPlanReason::null_mx);

    MxPlan plan = decided(MxPlanAction::deliver, MxPlanReason::mx);
    plan.hosts = usable_hosts(records, limits, plan.skipped);
    // MX records that name nothing usable are the domain's mistake, not a missing MX: no fallback to
    // the domain itself (RFC 5321 5.1 allows that only when there are no MX records at all). Defer,
    // so a fix within the queue lifetime still delivers.
    if (plan.hosts.empty()) {
        plan.action = MxPlanAction::defer;
        plan.reason = MxPlanReason::no_usable_mx;
        return plan;
    }
    shuffle_equal_preferences(plan.hosts, random);
    if (plan.hosts.size() > limits.hosts_max) {
        plan.skipped += plan.hosts.size() - limits.hosts_max;
        plan.hosts.resize(limits.hosts_max);
    }
    return plan;
}

}  // namespace vmx::net::dns
