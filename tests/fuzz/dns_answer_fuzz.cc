// Fuzz target: DNS answers as a hostile or broken server sends them (net/dns/ares_answers.h), read
// for MX, A, AAAA, TXT and PTR, and the MX answer planned for delivery (mx_plan.h). The first byte
// picks the limits; the rest is the raw answer, header included. Checks: the header's RCODE and AD
// bit are read as RFC 1035 and 4035 say; every list stays within its limit (truncated says so), MX
// records come by preference, TXT records within their byte limit, a failure carries a reason and
// no records; a delivery plan holds 1..hosts_max valid, canonical, non-numeric host names.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/assert.h"
#include "net/dns/ares_answers.h"
#include "net/dns/dns_name.h"
#include "net/dns/mx_plan.h"

namespace {

using namespace vmx::net::dns;

constexpr int ares_success = 0;  // ARES_SUCCESS: the transport delivered this answer

// What the fixed header alone decides, for answers it can be read from.
void check_header(const PartResult& r, const std::uint8_t* answer, std::size_t size) {
    if (size < 12) {
        VMX_ASSERT(r.status == DnsStatus::temp_failure && r.reason && !r.secure);
        return;
    }
    const unsigned rcode = answer[3] & 0x0f;
    VMX_ASSERT(r.secure == ((answer[3] & 0x20) != 0));
    VMX_ASSERT((r.status == DnsStatus::nxdomain) == (rcode == 3));
    if (rcode != 0 && rcode != 3) VMX_ASSERT(r.status == DnsStatus::temp_failure);
    if (r.status == DnsStatus::temp_failure) VMX_ASSERT(static_cast<bool>(r.reason));
}

template <class T>
void check_list(const PartResult& r, const std::vector<T>& out, std::size_t records_max) {
    VMX_ASSERT(out.size() <= records_max);
    if (r.status == DnsStatus::ok) VMX_ASSERT(!out.empty());
    if (r.status == DnsStatus::nxdomain) VMX_ASSERT(out.empty());
    if (r.truncated) VMX_ASSERT(r.status == DnsStatus::ok && out.size() == records_max);
}

void check_plan(const MxPlan& plan, const PartResult& answer, std::size_t records_max, const MxPlanLimits& limits) {
    const DnsStatus status = answer.status;
    if (plan.action == MxPlanAction::deliver) {
        VMX_ASSERT(!plan.hosts.empty() && plan.hosts.size() <= limits.hosts_max);
        for (const MxHost& h : plan.hosts) {
            VMX_ASSERT(is_host_name(h.name, limits.name_bytes_max) && !is_numeric_name(h.name));
            VMX_ASSERT(canonical_name(h.name) == h.name);
        }
        for (std::size_t i = 0; i < plan.hosts.size(); ++i)
            for (std::size_t j = 0; j < i; ++j) VMX_ASSERT(plan.hosts[i].name != plan.hosts[j].name);
        for (std::size_t i = 1; i < plan.hosts.size(); ++i)
            VMX_ASSERT(plan.hosts[i - 1].preference <= plan.hosts[i].preference);
    } else {
        VMX_ASSERT(plan.hosts.empty());
    }
    // Only the DNS's own word or the domain's null MX bounce mail; a broken answer is retried.
    if (status == DnsStatus::temp_failure) VMX_ASSERT(plan.action == MxPlanAction::defer);
    if (plan.action == MxPlanAction::bounce)
        VMX_ASSERT(plan.reason == MxPlanReason::null_mx || plan.reason == MxPlanReason::nxdomain);
    // A null MX is the only record of its answer (RFC 7505 3), never what a cut left of a longer one
    // (the resolver keeps 64 records; one record alone would make the cut look like a null MX).
    if (plan.reason == MxPlanReason::null_mx && records_max >= 2) VMX_ASSERT(!answer.truncated);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    const std::uint8_t* answer = data + 1;
    const std::size_t answer_bytes = size - 1;
    const int alen = static_cast<int>(answer_bytes);
    const std::size_t records_max = 1 + choice % 8;
    const std::size_t txt_bytes_max = choice & 0x80 ? 16 : 4096;

    std::vector<MxRecord> mx;
    const PartResult mx_result = parse_mx_answer(ares_success, answer, alen, records_max, mx);
    check_header(mx_result, answer, answer_bytes);
    check_list(mx_result, mx, records_max);
    VMX_ASSERT(std::is_sorted(mx.begin(), mx.end(),
                              [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; }));
    for (const MxRecord& r : mx) VMX_ASSERT(!r.host.empty() && r.host.find('\0') == std::string::npos);
    if (mx_result.status == DnsStatus::temp_failure) VMX_ASSERT(mx.empty());

    MxPlanLimits limits;
    limits.hosts_max = 1 + (choice >> 3) % 4;
    std::uint64_t state = choice;
    const RandomSource random = [&state] { return state = state * 6364136223846793005u + 1442695040888963407u; };
    check_plan(plan_mx("example.org", mx_result.status, mx, limits, random), mx_result, records_max, limits);

    for (const AddressFamily family : {AddressFamily::ipv4, AddressFamily::ipv6}) {
        std::vector<IpAddress> addresses;
        const PartResult r = parse_address_answer(ares_success, answer, alen, family, records_max, addresses);
        check_header(r, answer, answer_bytes);
        check_list(r, addresses, records_max);
        for (const IpAddress& a : addresses) VMX_ASSERT(a.family == family);
    }

    std::vector<std::string> texts;
    const PartResult txt = parse_txt_answer(ares_success, answer, alen, records_max, txt_bytes_max, texts);
    check_header(txt, answer, answer_bytes);
    check_list(txt, texts, records_max);
    if (txt.status == DnsStatus::temp_failure) VMX_ASSERT(texts.empty());
    for (const std::string& t : texts) VMX_ASSERT(t.size() <= txt_bytes_max);

    std::vector<std::string> names;
    const PartResult ptr = parse_ptr_answer(ares_success, answer, alen, records_max, names);
    check_header(ptr, answer, answer_bytes);
    check_list(ptr, names, records_max);
    return 0;
}
