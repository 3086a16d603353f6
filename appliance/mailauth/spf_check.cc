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

// The DNS layer libspf2 calls for every record it needs: through the message's budget.
SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type, int /*should_cache*/) {
    auto& budget = *static_cast<DnsBudget*>(server->hook);
    bool known = false;
    const net::dns::RecordType wanted = record_type(type, known);
    if (!known) return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);
    const net::dns::SyncAnswer answer = budget.lookup(domain, wanted);
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
        case SPF_RESULT_PERMERROR: return SpfResult::permerror;
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
    impl->layer.hook = &budget;
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
    SPF_response_t* response = nullptr;
    const SPF_errcode_t error = SPF_request_query_mailfrom(request, &response);
    if (response != nullptr) {
        const SPF_result_t result = SPF_response_result(response);
        // A record that could not be fetched leaves no result, only the error (libspf2 1.2.10).
        if (result == SPF_RESULT_INVALID) verdict.result = error == SPF_E_DNS_ERROR ? SpfResult::temperror : SpfResult::permerror;
        else verdict.result = result_of(result);
        SPF_response_free(response);
    }
    SPF_request_free(request);
    return verdict;
}

}  // namespace vmx
