// DKIM verification with libopendkim (see dkim_verify.h).
#include "appliance/mailauth/dkim_verify.h"

#include <cstring>

#include "appliance/mailauth/dns_budget.h"

namespace vmx {
namespace {

std::string lower(const unsigned char* s) {
    std::string out = s == nullptr ? "" : reinterpret_cast<const char*>(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// A failed signature's error: its result and a fixed reason (never text from the message).
DkimSignatureResult classify(int error) {
    DkimSignatureResult r;
    switch (error) {
        case DKIM_SIGERROR_KEYFAIL:
            r.result = DkimResult::temperror;
            r.reason = "key lookup failed";
            break;
        case DKIM_SIGERROR_NOKEY:
            r.result = DkimResult::permerror;
            r.reason = "no key";
            break;
        case DKIM_SIGERROR_KEYTOOSMALL:
            r.result = DkimResult::policy;
            r.reason = "key too small";
            break;
        case DKIM_SIGERROR_EXPIRED:
            r.result = DkimResult::neutral;
            r.reason = "signature expired";
            break;
        case DKIM_SIGERROR_KEYREVOKED:
            r.result = DkimResult::permerror;
            r.reason = "key revoked";
            break;
        case DKIM_SIGERROR_BADSIG:
        case DKIM_SIGERROR_OK:  // processed without passing: the body hash differed
            r.result = DkimResult::fail;
            r.reason = "signature verification failed";
            break;
        default:
            r.result = DkimResult::permerror;
            r.reason = "signature or key malformed";
            break;
    }
    return r;
}

}  // namespace

const char* to_string(DkimResult result) noexcept {
    switch (result) {
        case DkimResult::pass: return "pass";
        case DkimResult::fail: return "fail";
        case DkimResult::neutral: return "neutral";
        case DkimResult::policy: return "policy";
        case DkimResult::temperror: return "temperror";
        case DkimResult::permerror: return "permerror";
    }
    return "permerror";
}

Result<std::unique_ptr<DkimVerify>> DkimVerify::create(DnsBudget& budget, const DkimVerifyOptions& options) {
    DkimLibPtr lib = open_dkim_library();
    if (!lib) return fail(std::make_error_code(std::errc::not_enough_memory));
    unsigned int bits = options.key_bits_min;
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits, sizeof bits) != DKIM_STAT_OK ||
        dkim_set_prescreen(lib.get(), &DkimVerify::prescreen) != DKIM_STAT_OK ||
        dkim_set_key_lookup(lib.get(), &DkimVerify::fetch_key) != DKIM_STAT_OK)
        return fail(std::make_error_code(std::errc::invalid_argument));
    return std::unique_ptr<DkimVerify>(new DkimVerify(budget, options, std::move(lib)));
}

std::vector<DkimSignatureResult> DkimVerify::verify(std::string_view message) {
    std::vector<DkimSignatureResult> out;
    DKIM_STAT status = DKIM_STAT_OK;
    DkimPtr dkim(dkim_verify(lib_.get(), reinterpret_cast<const unsigned char*>("vmx"), nullptr, &status));
    if (!dkim) return out;
    dkim_set_user_context(dkim.get(), this);
    status = feed_message(dkim.get(), message);
    if (status == DKIM_STAT_NOSIG) return out;
    DKIM_SIGINFO** sigs = nullptr;
    int count = 0;
    if (dkim_getsiglist(dkim.get(), &sigs, &count) != DKIM_STAT_OK) return out;
    for (int i = 0; i < count; ++i) {
        if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0) continue;  // past signatures_max
        out.push_back(result_of(sigs[i]));
    }
    return out;
}

DkimSignatureResult DkimVerify::result_of(DKIM_SIGINFO* sig) const {
    const unsigned int flags = dkim_sig_getflags(sig);
    dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
    (void)dkim_sig_getsignalg(sig, &algorithm);
    DkimSignatureResult r;
    if ((flags & DKIM_SIGFLAG_PASSED) != 0 && dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH) {
        r.result = DkimResult::pass;
        if (algorithm == DKIM_SIGN_RSASHA1) {  // RFC 8301 3.1: MUST NOT be considered valid
            r.result = DkimResult::policy;
            r.reason = "rsa-sha1";
        }
    } else if ((flags & DKIM_SIGFLAG_PROCESSED) == 0 && dkim_sig_geterror(sig) == DKIM_SIGERROR_OK) {
        r.result = DkimResult::temperror;  // never reached: the message's time or DNS ran out
        r.reason = "not checked";
    } else {
        r = classify(dkim_sig_geterror(sig));
    }
    r.domain = lower(dkim_sig_getdomain(sig));
    r.selector = lower(dkim_sig_getselector(sig));
    if (const unsigned char* b = dkim_sig_gettagvalue(sig, false, reinterpret_cast<unsigned char*>(const_cast<char*>("b"))))
        r.b_prefix.assign(reinterpret_cast<const char*>(b), strnlen(reinterpret_cast<const char*>(b), 8));
    return r;
}

// Before any key is fetched: signatures past signatures_max are ignored, so a message with a
// thousand signatures costs what one with signatures_max does.
DKIM_CBSTAT DkimVerify::prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int count) {
    const auto& self = *static_cast<const DkimVerify*>(dkim_get_user_context(dkim));
    for (int i = static_cast<int>(self.options_.signatures_max); i < count; ++i) dkim_sig_ignore(sigs[i]);
    return DKIM_CBSTAT_CONTINUE;
}

// The key record at SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.2.1), through the message's budget.
DKIM_CBSTAT DkimVerify::fetch_key(DKIM* dkim, DKIM_SIGINFO* sig, unsigned char* buf, size_t buflen) {
    auto& self = *static_cast<DkimVerify*>(dkim_get_user_context(dkim));
    const unsigned char* selector = dkim_sig_getselector(sig);
    const unsigned char* domain = dkim_sig_getdomain(sig);
    if (selector == nullptr || domain == nullptr) return DKIM_CBSTAT_NOTFOUND;
    std::string name = reinterpret_cast<const char*>(selector);
    name += "._domainkey.";
    name += reinterpret_cast<const char*>(domain);
    const net::dns::SyncAnswer answer = self.budget_.lookup(name, net::dns::RecordType::txt);
    switch (answer.status) {
        case net::dns::DnsStatus::temp_failure: return DKIM_CBSTAT_TRYAGAIN;
        case net::dns::DnsStatus::nxdomain:
        case net::dns::DnsStatus::nodata: return DKIM_CBSTAT_NOTFOUND;
        case net::dns::DnsStatus::ok: break;
    }
    const std::string& record = answer.texts.front();
    if (record.size() + 1 > buflen) return DKIM_CBSTAT_ERROR;
    std::memcpy(buf, record.c_str(), record.size() + 1);
    return DKIM_CBSTAT_CONTINUE;
}

}  // namespace vmx
