// The delivery plan for a domain: which hosts to try, in which order, from its MX answer
// (RFC 5321 5.1, RFC 7505). Pure: no I/O, no clock; randomness comes from the caller. Any thread.
// Invariant: action deliver has 1..hosts_max hosts, every one a valid, non-numeric host name.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/dns/dns_types.h"

namespace vmx::net::dns {

enum class MxPlanAction : std::uint8_t {
    deliver,  // try hosts in order
    bounce,   // permanent: the domain does not exist or accepts no mail
    defer,    // temporary: ask again later
};

enum class MxPlanReason : std::uint8_t {
    mx,               // deliver: hosts from MX records
    implicit_mx,      // deliver: no MX records, the domain itself (RFC 5321 5.1)
    null_mx,          // bounce: "MX 0 ." (RFC 7505 3)
    nxdomain,         // bounce: the domain does not exist
    invalid_domain,   // bounce: the domain is not a valid host name
    dns_temporary,    // defer: SERVFAIL, timeout, malformed answer
    no_usable_mx,     // defer: MX records exist but none names a usable host
};
const char* to_string(MxPlanReason reason) noexcept;

struct MxPlanLimits {
    std::size_t hosts_max = 10;         // hosts tried per attempt; the rest are dropped
    std::size_t name_bytes_max = 253;   // longer targets are skipped
};

struct MxHost {
    std::string name;                 // canonical: lower case, no trailing dot
    std::uint16_t preference = 0;     // kept so a caller that is itself an MX can cut the list
};

struct MxPlan {
    MxPlanAction action = MxPlanAction::defer;
    MxPlanReason reason = MxPlanReason::dns_temporary;
    std::vector<MxHost> hosts;
    std::size_t skipped = 0;  // targets dropped: invalid, numeric, duplicate or past hosts_max
};

// Uniform 64-bit values; tests pass a fixed-seed generator, delivery a per-shard one.
using RandomSource = std::function<std::uint64_t()>;

// `records` is the MX answer for `domain` when status is ok; it is ignored otherwise. Hosts are
// ordered by preference; hosts of equal preference are shuffled (RFC 5321 5.1: spread the load).
MxPlan plan_mx(std::string_view domain, DnsStatus status, std::span<const MxRecord> records,
               const MxPlanLimits& limits, const RandomSource& random);

}  // namespace vmx::net::dns
