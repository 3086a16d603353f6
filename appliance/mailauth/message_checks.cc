// One inbound message's checks and its Authentication-Results (see message_checks.h).
#include "appliance/mailauth/message_checks.h"

#include <algorithm>

#include "appliance/mailauth/dns_budget.h"
#include "net/mailauth/auth_results.h"
#include "net/smtp/headers.h"

namespace vmx {
namespace {

using mailauth::ResultInfo;

ResultInfo spf_info(const SpfVerdict& v, const char* property) {
    ResultInfo r{"spf", to_string(v.result), {}, {}};
    if (!v.domain.empty()) r.properties.emplace_back(property, v.domain);
    return r;
}

ResultInfo dkim_info(const DkimSignatureResult& s) {
    ResultInfo r{"dkim", to_string(s.result), s.reason, {}};
    if (!s.domain.empty()) r.properties.emplace_back("header.d", s.domain);
    if (!s.selector.empty()) r.properties.emplace_back("header.s", s.selector);
    if (!s.b_prefix.empty()) r.properties.emplace_back("header.b", s.b_prefix);
    return r;
}

ResultInfo dmarc_info(const DmarcVerdict& v, std::string_view disposition) {
    ResultInfo r{"dmarc", to_string(v.result), {}, {}};
    if (v.result == DmarcResult::fail)
        r.comment = std::string("p=") + to_string(v.policy) + " dis=" + std::string(disposition);
    if (!v.from_domain.empty()) r.properties.emplace_back("header.from", v.from_domain);
    return r;
}

}  // namespace

std::optional<std::vector<std::string>> from_domains(std::string_view message) {
    smtp::HeaderLimits limits;
    const smtp::HeaderSummary summary = smtp::scan_headers(message, limits);
    if (summary.problem != smtp::HeaderProblem::none || !summary.from_parsed || summary.from_fields > 1)
        return std::nullopt;
    std::vector<std::string> domains;
    for (const std::string& address : summary.from) {
        const std::size_t at = address.rfind('@');
        if (at == std::string::npos) continue;
        std::string d = address.substr(at + 1);
        if (std::find(domains.begin(), domains.end(), d) == domains.end()) domains.push_back(std::move(d));
    }
    return domains;
}

Result<std::unique_ptr<MessageChecks>> MessageChecks::create(const CheckSettings& settings) {
    std::unique_ptr<MessageChecks> checks(new MessageChecks(settings));
    auto resolver = net::dns::SyncResolver::create(settings.resolver);
    if (!resolver) return fail(resolver.error());
    checks->resolver_ = std::move(*resolver);
    checks->budget_ = std::make_unique<DnsBudget>(*checks->resolver_, settings.dns_cache_ms);
    auto spf = SpfCheck::create(*checks->budget_);
    if (!spf) return fail(spf.error());
    checks->spf_ = std::move(*spf);
    auto dkim = DkimVerify::create(*checks->budget_, settings.dkim_options);
    if (!dkim) return fail(dkim.error());
    checks->dkim_ = std::move(*dkim);
    return checks;
}

MessageChecks::MessageChecks(const CheckSettings& settings) : settings_(settings) {}
MessageChecks::~MessageChecks() = default;

CheckVerdict MessageChecks::check(const CheckInput& input, std::string_view message) {
    budget_->reset(settings_.dns_lookups_max,
                   DnsBudget::Clock::now() + std::chrono::milliseconds(settings_.time_max_ms));
    CheckVerdict verdict;
    // A section whose From: cannot be read for certain could hide the domain DMARC protects, and
    // forged Authentication-Results past the point where a scan stops: refused, nothing looked up.
    auto domains = from_domains(message);
    if (!domains || domains->size() > 1) {
        verdict.unreadable = true;
        return verdict;
    }
    verdict.from_domains = std::move(*domains);
    const bool dmarc = settings_.dmarc && (settings_.spf || settings_.dkim) && verdict.from_domains.size() == 1;
    DmarcRecord policy;
    if (dmarc) policy = discover_dmarc(*budget_, verdict.from_domains.front());

    std::vector<ResultInfo> results;
    SpfIdentities ids{input.client_ip, input.helo, input.mail_from, settings_.authserv_id};
    SpfVerdict spf_from;
    if (settings_.spf) {
        // RFC 7208 2.3: the HELO check first; its result stands for a null sender's.
        const SpfVerdict helo = spf_->check_helo(ids);
        spf_from = input.mail_from.empty() ? helo : spf_->check_mail_from(ids);
        verdict.spf = spf_from.result;
        results.push_back(spf_info(spf_from, input.mail_from.empty() ? "smtp.helo" : "smtp.mailfrom"));
        if (!input.mail_from.empty() && helo.result != SpfResult::none) results.push_back(spf_info(helo, "smtp.helo"));
    }
    std::vector<DkimSignatureResult> signatures;
    bool temporary = spf_from.result == SpfResult::temperror;
    if (settings_.dkim) {
        signatures = dkim_->verify(message);
        if (signatures.empty()) results.push_back(ResultInfo{"dkim", "none", {}, {}});
        for (const DkimSignatureResult& s : signatures) {
            (s.result == DkimResult::pass ? verdict.dkim_pass : verdict.dkim_fail)++;
            temporary = temporary || s.result == DkimResult::temperror;
            results.push_back(dkim_info(s));
        }
    }
    // DMARC passes only through SPF or DKIM: with both off it is not evaluated (nothing could pass).
    if (dmarc) {
        verdict.dmarc = check_dmarc(policy, verdict.from_domains.front(), input.client_ip, spf_from, signatures);
        const bool reject = verdict.dmarc.result == DmarcResult::fail && verdict.dmarc.policy == DmarcPolicy::reject;
        // A failure that a DNS answer missing for now may have caused is not final (RFC 7489 6.6.2).
        verdict.defer = reject && settings_.refuse_on_reject && (temporary || budget_->exhausted());
        verdict.refuse = reject && settings_.refuse_on_reject && !verdict.defer;
        const char* disposition = verdict.refuse ? "reject"
                                  : (reject || verdict.dmarc.policy == DmarcPolicy::quarantine) ? "quarantine"
                                                                                                : "none";
        results.push_back(dmarc_info(verdict.dmarc, disposition));
    }
    verdict.dns_lookups = budget_->used();
    verdict.budget_exhausted = budget_->exhausted();
    verdict.header = mailauth::format_auth_results(settings_.authserv_id, results);
    return verdict;
}

}  // namespace vmx
