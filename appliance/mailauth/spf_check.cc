// SPF through libspf2 with our DNS layer (see spf_check.h).
#include "appliance/mailauth/spf_check.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
extern "C" {  // libspf2's headers have no C++ guard
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
}

#include <cstring>
#include <mutex>

#include "appliance/mailauth/dns_budget.h"
#include "net/dns/dns_name.h"

namespace vmx {
namespace {

// libspf2 prints its warnings to stderr by default: they name domains from the network and are no
// use to an operator, so they are dropped (fatal errors keep libspf2's own handler).
void quiet(const char*, int, const char*) {}

void quiet_library() {
    static std::once_flag once;
    std::call_once(once, [] {
        SPF_warning_handler = quiet;
        SPF_info_handler = quiet;
        SPF_debug_handler = quiet;
    });
}

net::dns::RecordType record_type(ns_type type, bool& known) {
    known = true;
    switch (type) {
        case ns_t_a: return net::dns::RecordType::a;
        case ns_t_aaaa: return net::dns::RecordType::aaaa;
        case ns_t_mx: return net::dns::RecordType::mx;
        case ns_t_txt: return net::dns::RecordType::txt;
        case ns_t_ptr: return net::dns::RecordType::ptr;
        default: known = false; return net::dns::RecordType::txt;  // type SPF (99): RFC 7208 3.1 dropped it
    }
}

SPF_dns_stat_t herrno_of(net::dns::DnsStatus status) {
    switch (status) {
        case net::dns::DnsStatus::ok: return NETDB_SUCCESS;
        case net::dns::DnsStatus::nodata: return NO_DATA;
        case net::dns::DnsStatus::nxdomain: return HOST_NOT_FOUND;
        case net::dns::DnsStatus::temp_failure: return TRY_AGAIN;
    }
    return TRY_AGAIN;
}

// Copies `text` into the answer's record i (a NUL-terminated string, as libspf2 reads it).
bool put_text(SPF_dns_rr_t* rr, int i, const std::string& text) {
    if (SPF_dns_rr_buf_realloc(rr, i, text.size() + 1) != SPF_E_SUCCESS) return false;
    std::memcpy(rr->rr[i]->txt, text.c_str(), text.size() + 1);
    return true;
}

bool put_address(SPF_dns_rr_t* rr, int i, const net::dns::IpAddress& a) {
    const std::size_t bytes = a.family == net::dns::AddressFamily::ipv4 ? sizeof(in_addr) : sizeof(in6_addr);
    if (SPF_dns_rr_buf_realloc(rr, i, bytes) != SPF_E_SUCCESS) return false;
    std::memcpy(a.family == net::dns::AddressFamily::ipv4 ? static_cast<void*>(&rr->rr[i]->a)
                                                          : static_cast<void*>(&rr->rr[i]->aaaa),
                a.bytes.data(), bytes);
    return true;
}

}  // namespace

// One evaluation's counts of RFC 7208 4.6.4, kept here because libspf2 counts DNS terms per record
// (each include: gets a fresh count), so a chain of includes would never reach ten. TXT look-ups
// after the first are include: and redirect= targets; MX and PTR look-ups are mx and ptr terms
// (and the %{p} macro). A and AAAA look-ups stay counted by libspf2 per record and by the budget.
struct SpfEvaluation {
    DnsBudget* budget = nullptr;
    int txt_lookups = 0;
    int terms = 0;
    int void_lookups = 0;
    bool over_limit = false;
};

namespace {

constexpr int dns_terms_max = 10;    // RFC 7208 4.6.4
constexpr int void_lookups_max = 2;  // RFC 7208 4.6.4

// The DNS layer libspf2 calls for every record it needs: through the message's budget.
SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type, int /*should_cache*/) {
    auto& eval = *static_cast<SpfEvaluation*>(server->hook);
    bool known = false;
    const net::dns::RecordType wanted = record_type(type, known);
    if (!known) return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);
    if (wanted == net::dns::RecordType::txt && eval.txt_lookups++ > 0) ++eval.terms;
    if (wanted == net::dns::RecordType::mx || wanted == net::dns::RecordType::ptr) ++eval.terms;
    if (eval.terms > dns_terms_max || eval.over_limit) {
        eval.over_limit = true;  // the evaluation ends in permerror; nothing more is asked
        return SPF_dns_rr_new_init(server, domain, type, 0, HOST_NOT_FOUND);
    }
    const net::dns::SyncAnswer answer = eval.budget->lookup(domain, wanted);
    if (answer.status == net::dns::DnsStatus::nodata || answer.status == net::dns::DnsStatus::nxdomain) {
        // The record itself missing is "none", not a void look-up of a term.
        if (eval.txt_lookups > 1 || wanted != net::dns::RecordType::txt) ++eval.void_lookups;
        if (eval.void_lookups > void_lookups_max) eval.over_limit = true;
    }
    SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, 0, herrno_of(answer.status));
    if (rr == nullptr || answer.status != net::dns::DnsStatus::ok) return rr;
    int n = 0;
    bool ok = true;
    for (const auto& a : answer.addresses) ok = ok && put_address(rr, n++, a);
    for (const auto& mx : answer.mx) ok = ok && put_text(rr, n++, mx.host);
    for (const auto& t : answer.texts) ok = ok && put_text(rr, n++, t);
    rr->num_rr = ok ? n : 0;
    if (!ok) rr->herrno = TRY_AGAIN;
    return rr;
}

SpfResult result_of(SPF_result_t r) {
    switch (r) {
        case SPF_RESULT_NEUTRAL: return SpfResult::neutral;
        case SPF_RESULT_PASS: return SpfResult::pass;
        case SPF_RESULT_FAIL: return SpfResult::fail;
        case SPF_RESULT_SOFTFAIL: return SpfResult::softfail;
        case SPF_RESULT_NONE: return SpfResult::none;
        case SPF_RESULT_TEMPERROR: return SpfResult::temperror;
        case SPF_RESULT_PERMERROR:
        default: return SpfResult::permerror;
    }
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace

const char* to_string(SpfResult result) noexcept {
    switch (result) {
        case SpfResult::none: return "none";
        case SpfResult::neutral: return "neutral";
        case SpfResult::pass: return "pass";
        case SpfResult::fail: return "fail";
        case SpfResult::softfail: return "softfail";
        case SpfResult::temperror: return "temperror";
        case SpfResult::permerror: return "permerror";
    }
    return "permerror";
}

struct SpfCheck::Impl {
    SPF_dns_server_t layer{};
    SPF_server_t* server = nullptr;
    SpfEvaluation evaluation;
    ~Impl() {
        if (server != nullptr) SPF_server_free(server);  // leaves our layer alone: it has no destroy
    }
};

SpfCheck::SpfCheck(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpfCheck::~SpfCheck() = default;

Result<std::unique_ptr<SpfCheck>> SpfCheck::create(DnsBudget& budget) {
    quiet_library();
    auto impl = std::make_unique<Impl>();
    impl->layer.lookup = &lookup;
    impl->layer.name = "vaultmx";
    impl->evaluation.budget = &budget;
    impl->layer.hook = &impl->evaluation;
    impl->server = SPF_server_new_dns(&impl->layer, 0);
    if (impl->server == nullptr) return fail(std::make_error_code(std::errc::not_enough_memory));
    // RFC 7208 4.6.4: ten terms that query DNS, ten names from one mx or ptr.
    SPF_server_set_max_dns_mech(impl->server, 10);
    SPF_server_set_max_dns_mx(impl->server, 10);
    SPF_server_set_max_dns_ptr(impl->server, 10);
    return std::unique_ptr<SpfCheck>(new SpfCheck(std::move(impl)));
}

SpfVerdict SpfCheck::check_helo(const SpfIdentities& ids) {
    const std::string helo = lower(ids.helo);
    if (!net::dns::is_host_name(helo, 253) || helo.find('.') == std::string::npos) return {SpfResult::none, helo};
    return evaluate(ids, "postmaster@" + helo, helo);
}

SpfVerdict SpfCheck::check_mail_from(const SpfIdentities& ids) {
    const std::size_t at = ids.mail_from.rfind('@');
    if (ids.mail_from.empty() || at == std::string::npos) return check_helo(ids);
    const std::string domain = lower(ids.mail_from.substr(at + 1));
    if (!net::dns::is_host_name(domain, 253)) return {SpfResult::none, domain};
    return evaluate(ids, ids.mail_from, domain);
}

// SPF_request_query_mailfrom's work without its first step, which answers "pass" for any client on
// 127.0.0.0/8 or ::1 without looking at a record ("localhost gets a free ride"): RFC 7208 has no
// such exemption, and a relay on this host must not pass as every domain.
SpfResult SpfCheck::run(SPF_request_t* request) {
    impl_->evaluation = SpfEvaluation{impl_->evaluation.budget};
    SPF_response_t* response = SPF_response_new(request);
    if (response == nullptr) return SpfResult::temperror;
    request->cur_dom = request->use_helo ? request->helo_dom : request->env_from_dp;
    SPF_record_t* record = nullptr;
    SPF_errcode_t error = SPF_server_get_record(impl_->server, request, response, &record);
    SpfResult result = SpfResult::permerror;
    if (error == SPF_E_SUCCESS && record != nullptr) {
        response->spf_record_exp = record;
        error = SPF_record_interpret(record, request, response, 0);
        response->spf_record_exp = nullptr;
        result = result_of(SPF_response_result(response));
        if (error == SPF_E_DNS_ERROR && result == SpfResult::permerror) result = SpfResult::temperror;
    } else if (error == SPF_E_NOT_SPF && record == nullptr) {
        result = SpfResult::none;  // no record, or no such domain (RFC 7208 4.3, 4.5); a record that
                                   // fails to compile comes back as NOT_SPF too, but with a record
    } else if (error == SPF_E_DNS_ERROR) {
        result = SpfResult::temperror;
    }
    if (record != nullptr) SPF_record_free(record);
    SPF_response_free(response);
    if (impl_->evaluation.over_limit) result = SpfResult::permerror;  // RFC 7208 4.6.4
    return result;
}

SpfVerdict SpfCheck::evaluate(const SpfIdentities& ids, const std::string& sender, std::string domain) {
    SpfVerdict verdict{SpfResult::temperror, std::move(domain)};
    SPF_request_t* request = SPF_request_new(impl_->server);
    if (request == nullptr) return verdict;
    SPF_server_set_rec_dom(impl_->server, ids.receiver.c_str());
    const bool v6 = ids.client_ip.find(':') != std::string::npos;
    const SPF_errcode_t ip = v6 ? SPF_request_set_ipv6_str(request, ids.client_ip.c_str())
                                : SPF_request_set_ipv4_str(request, ids.client_ip.c_str());
    if (ip != SPF_E_SUCCESS || SPF_request_set_helo_dom(request, ids.helo.c_str()) != SPF_E_SUCCESS ||
        SPF_request_set_env_from(request, sender.c_str()) != 0) {
        SPF_request_free(request);
        verdict.result = SpfResult::permerror;
        return verdict;
    }
    verdict.result = run(request);
    SPF_request_free(request);
    return verdict;
}

}  // namespace vmx
