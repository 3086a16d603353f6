// DMARC with libopendmarc's record parser and our own alignment (see dmarc_check.h). Why not the
// library's alignment: libopendmarc 1.4.2 treats two domains under a suffix missing from the public
// suffix list as aligned (a.example and b.example both have an empty organisational domain there,
// checked), which would let anyone pass DMARC for such a domain; RFC 7489 3.2's default rule
// ("*": one label is a public suffix) closes that, so alignment is computed here.
#include "appliance/mailauth/dmarc_check.h"

#include <opendmarc/dmarc.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

#include "appliance/mailauth/dkim_verify.h"
#include "appliance/mailauth/dns_budget.h"
#include "appliance/mailauth/spf_check.h"
#include "crypto/random.h"
#include "net/mailauth/tag_list.h"

extern "C" int opendmarc_get_tld(unsigned char* domain, unsigned char* tld, size_t tld_len);  // exported, not declared

namespace vmx {
namespace {

struct PolicyContext {
    void operator()(DMARC_POLICY_T* p) const noexcept { opendmarc_policy_connect_shutdown(p); }
};
using PolicyPtr = std::unique_ptr<DMARC_POLICY_T, PolicyContext>;

unsigned char* text(const std::string& s) { return reinterpret_cast<unsigned char*>(const_cast<char*>(s.c_str())); }

// The last `labels` labels of a domain.
std::string last_labels(const std::string& domain, int labels) {
    std::size_t pos = domain.size();
    for (int i = 0; i < labels; ++i) {
        const std::size_t dot = domain.rfind('.', pos == 0 ? 0 : pos - 1);
        if (dot == std::string::npos || pos == 0) return domain;
        pos = dot;
    }
    return domain.substr(pos + 1);
}

enum class Found : std::uint8_t { record, none, several, temporary };

// RFC 7489 6.6.3: the one DMARC record at _dmarc.DOMAIN; several end the discovery (no policy).
Found find_record(DnsBudget& budget, const std::string& domain, std::string& record) {
    const auto answer = budget.lookup("_dmarc." + domain, net::dns::RecordType::txt);
    if (answer.status == net::dns::DnsStatus::temp_failure) return Found::temporary;
    if (answer.status != net::dns::DnsStatus::ok) return Found::none;
    int count = 0;
    for (const std::string& t : answer.texts) {
        if (!mailauth::is_dmarc_record(t)) continue;
        record = t;
        ++count;
    }
    return count == 1 ? Found::record : count > 1 ? Found::several : Found::none;
}

bool aligned(const std::string& identifier, const std::string& from_domain, int mode) {
    if (identifier.empty()) return false;
    if (mode == DMARC_RECORD_A_STRICT) return identifier == from_domain;
    return organizational_domain(identifier) == organizational_domain(from_domain);
}

DmarcPolicy policy_of(int p) {
    if (p == DMARC_RECORD_P_REJECT) return DmarcPolicy::reject;
    if (p == DMARC_RECORD_P_QUARANTINE) return DmarcPolicy::quarantine;
    return DmarcPolicy::none;
}

// RFC 7489 6.6.4: a message outside pct% gets the next weaker policy. Without randomness the
// policy applies in full.
DmarcPolicy sampled(DmarcPolicy policy, int pct) {
    if (pct >= 100 || policy == DmarcPolicy::none) return policy;
    std::uint8_t r[4] = {0};
    if (!crypto::random_bytes(r)) return policy;
    const std::uint32_t value = std::uint32_t{r[0]} << 24 | std::uint32_t{r[1]} << 16 | std::uint32_t{r[2]} << 8 | r[3];
    if (value % 100 < static_cast<std::uint32_t>(std::max(pct, 0))) return policy;  // bias under 1e-7
    return policy == DmarcPolicy::reject ? DmarcPolicy::quarantine : DmarcPolicy::none;
}

}  // namespace

const char* to_string(DmarcResult result) noexcept {
    switch (result) {
        case DmarcResult::none: return "none";
        case DmarcResult::pass: return "pass";
        case DmarcResult::fail: return "fail";
        case DmarcResult::temperror: return "temperror";
        case DmarcResult::permerror: return "permerror";
    }
    return "permerror";
}

const char* to_string(DmarcPolicy policy) noexcept {
    switch (policy) {
        case DmarcPolicy::none: return "none";
        case DmarcPolicy::quarantine: return "quarantine";
        case DmarcPolicy::reject: return "reject";
    }
    return "none";
}

Result<void> init_dmarc_library(const std::string& suffix_list_path) {
    static std::mutex mutex;
    static bool done = false;
    std::lock_guard lock(mutex);
    if (done) return {};
    OPENDMARC_LIB_T lib{};
    lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
    if (suffix_list_path.size() >= sizeof lib.tld_source_file) return fail(std::make_error_code(std::errc::filename_too_long));
    std::memcpy(lib.tld_source_file, suffix_list_path.c_str(), suffix_list_path.size() + 1);
    if (opendmarc_policy_library_init(&lib) != DMARC_PARSE_OKAY) return fail(std::make_error_code(std::errc::no_such_file_or_directory));
    done = true;
    return {};
}

std::string organizational_domain(const std::string& domain) {
    unsigned char out[256] = {0};
    if (domain.size() < sizeof out && opendmarc_get_tld(text(domain), out, sizeof out) == 0 && out[0] != '\0') {
        std::string org(reinterpret_cast<const char*>(out));
        // The library answers for the suffix list's own entries ("com" -> "com"): never shorter
        // than the default rule's two labels, never longer than the domain.
        if (org.size() <= domain.size() && org.find('.') != std::string::npos) return org;
    }
    return last_labels(domain, 2);  // the default rule "*": the top label is a public suffix
}

DmarcRecord discover_dmarc(DnsBudget& budget, const std::string& from_domain) {
    DmarcRecord out;
    out.policy_domain = from_domain;
    Found found = find_record(budget, from_domain, out.text);
    const std::string org = organizational_domain(from_domain);
    if (found == Found::none && org != from_domain) {
        out.policy_domain = org;
        found = find_record(budget, org, out.text);
    }
    out.state = found == Found::record      ? DmarcRecord::State::found
                : found == Found::temporary ? DmarcRecord::State::temporary
                                            : DmarcRecord::State::none;
    return out;
}

DmarcVerdict check_dmarc(const DmarcRecord& discovered, const std::string& from_domain, const std::string& client_ip,
                         const SpfVerdict& spf, const std::vector<DkimSignatureResult>& dkim) {
    DmarcVerdict verdict;
    verdict.from_domain = from_domain;
    if (discovered.state == DmarcRecord::State::temporary) {
        verdict.result = DmarcResult::temperror;
        return verdict;
    }
    if (discovered.state == DmarcRecord::State::none) return verdict;  // no policy: dmarc=none
    const std::string& policy_domain = discovered.policy_domain;
    const std::string& record = discovered.text;
    PolicyPtr policy(opendmarc_policy_connect_init(text(client_ip), client_ip.find(':') != std::string::npos ? 6 : 4));
    if (!policy || opendmarc_policy_parse_dmarc(policy.get(), text(policy_domain), text(record)) != DMARC_PARSE_OKAY) {
        verdict.result = DmarcResult::permerror;
        return verdict;
    }
    int p = 0, sp = 0, adkim = 0, aspf = 0, pct = 100;
    opendmarc_policy_fetch_p(policy.get(), &p);
    opendmarc_policy_fetch_sp(policy.get(), &sp);
    opendmarc_policy_fetch_adkim(policy.get(), &adkim);
    opendmarc_policy_fetch_aspf(policy.get(), &aspf);
    opendmarc_policy_fetch_pct(policy.get(), &pct);
    bool pass = spf.result == SpfResult::pass && aligned(spf.domain, from_domain, aspf);
    for (const DkimSignatureResult& s : dkim) pass = pass || (s.result == DkimResult::pass && aligned(s.domain, from_domain, adkim));
    if (pass) {
        verdict.result = DmarcResult::pass;
        return verdict;
    }
    verdict.result = DmarcResult::fail;
    // 6.6.3: a record found at the organisational domain applies sp= (when given) to its subdomains.
    const int requested = (policy_domain != from_domain && sp != DMARC_RECORD_P_UNSPECIFIED) ? sp : p;
    verdict.policy = sampled(policy_of(requested), pct);
    return verdict;
}

}  // namespace vmx
