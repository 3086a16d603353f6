// c-ares outcomes into DnsStatus and records (see ares_answers.h).
#include "net/dns/ares_answers.h"

#include <ares.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/c_free.h"
#include "net/dns/ares_category.h"

namespace vmx::net::dns {
namespace {

constexpr int header_bytes = 12;        // RFC 1035 4.1.1
constexpr unsigned char ad_bit = 0x20;  // byte 3 (RFC 4035 3.2.3)
constexpr unsigned char rcode_mask = 0x0F;

PartResult temporary(int ares_status, bool secure = false) {
    PartResult r;
    r.status = DnsStatus::temp_failure;
    r.reason = ares_error(ares_status);
    r.secure = secure;
    return r;
}

// The transport outcome and the header's RCODE; status ok means "parse the records".
PartResult classify(int status, const unsigned char* abuf, int alen) {
    if (status != ARES_SUCCESS) return temporary(status);  // timeout, refused, SERVFAIL after retries
    if (abuf == nullptr || alen < header_bytes) return temporary(ARES_EBADRESP);
    PartResult r;
    r.secure = (abuf[3] & ad_bit) != 0;
    switch (abuf[3] & rcode_mask) {
        case 0: r.status = DnsStatus::ok; return r;
        case 3: r.status = DnsStatus::nxdomain; return r;
        case 1: return temporary(ARES_EFORMERR, r.secure);
        case 2: return temporary(ARES_ESERVFAIL, r.secure);
        case 4: return temporary(ARES_ENOTIMP, r.secure);
        case 5: return temporary(ARES_EREFUSED, r.secure);
        default: return temporary(ARES_EBADRESP, r.secure);
    }
}

// After a parser's status: ENODATA (or nothing of the type, only a CNAME) is nodata.
void settle(PartResult& r, int parse_status, bool empty) {
    if (parse_status == ARES_ENODATA || (parse_status == ARES_SUCCESS && empty)) {
        r.status = DnsStatus::nodata;
    } else if (parse_status != ARES_SUCCESS) {
        r = temporary(parse_status, r.secure);
    }
}

using MxReplyPtr = std::unique_ptr<ares_mx_reply, CFree<ares_free_data>>;
using TxtReplyPtr = std::unique_ptr<ares_txt_ext, CFree<ares_free_data>>;
using HostentPtr = std::unique_ptr<hostent, CFree<ares_free_hostent>>;

}  // namespace

PartResult parse_mx_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                           std::vector<MxRecord>& out) {
    PartResult r = classify(status, abuf, alen);
    if (r.status != DnsStatus::ok) return r;
    ares_mx_reply* head = nullptr;
    const int parsed = ares_parse_mx_reply(abuf, alen, &head);
    const MxReplyPtr owned(head);
    for (const ares_mx_reply* mx = head; parsed == ARES_SUCCESS && mx != nullptr; mx = mx->next) {
        // c-ares writes the root name as "": keep it visible as "." for the null MX check.
        const char* host = (mx->host == nullptr || mx->host[0] == '\0') ? "." : mx->host;
        out.push_back(MxRecord{mx->priority, host});
    }
    settle(r, parsed, out.empty());
    std::stable_sort(out.begin(), out.end(),
                     [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
    if (out.size() > records_max) {
        out.resize(records_max);
        r.truncated = true;
    }
    return r;
}

PartResult parse_address_answer(int status, const unsigned char* abuf, int alen, AddressFamily family,
                                 std::size_t records_max, std::vector<IpAddress>& out) {
    PartResult r = classify(status, abuf, alen);
    if (r.status != DnsStatus::ok) return r;
    // One slot past the limit tells a full answer from a truncated one.
    int count = static_cast<int>(records_max + 1);
    int parsed = ARES_SUCCESS;
    if (family == AddressFamily::ipv6) {
        std::vector<ares_addr6ttl> found(records_max + 1);
        parsed = ares_parse_aaaa_reply(abuf, alen, nullptr, found.data(), &count);
        for (int i = 0; parsed == ARES_SUCCESS && i < count && static_cast<std::size_t>(i) < records_max; ++i) {
            IpAddress a{AddressFamily::ipv6, {}};
            std::memcpy(a.bytes.data(), &found[i].ip6addr, 16);
            out.push_back(a);
        }
    } else {
        std::vector<ares_addrttl> found(records_max + 1);
        parsed = ares_parse_a_reply(abuf, alen, nullptr, found.data(), &count);
        for (int i = 0; parsed == ARES_SUCCESS && i < count && static_cast<std::size_t>(i) < records_max; ++i) {
            IpAddress a{AddressFamily::ipv4, {}};
            std::memcpy(a.bytes.data(), &found[i].ipaddr, 4);
            out.push_back(a);
        }
    }
    settle(r, parsed, count == 0);
    if (parsed == ARES_SUCCESS && static_cast<std::size_t>(count) > records_max) r.truncated = true;
    return r;
}

PartResult parse_txt_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                            std::size_t record_bytes_max, std::vector<std::string>& out) {
    PartResult r = classify(status, abuf, alen);
    if (r.status != DnsStatus::ok) return r;
    ares_txt_ext* head = nullptr;
    const int parsed = ares_parse_txt_reply_ext(abuf, alen, &head);
    const TxtReplyPtr owned(head);
    std::size_t records = 0;
    for (const ares_txt_ext* t = head; parsed == ARES_SUCCESS && t != nullptr; t = t->next) {
        if (t->record_start) {
            if (++records > records_max) {
                r.truncated = true;
                break;
            }
            out.emplace_back();
        }
        if (out.empty()) out.emplace_back();  // a continuation first: c-ares never does this
        if (out.back().size() + t->length > record_bytes_max) {
            out.clear();
            return temporary(ARES_EBADRESP, r.secure);
        }
        out.back().append(reinterpret_cast<const char*>(t->txt), t->length);
    }
    settle(r, parsed, out.empty());
    return r;
}

PartResult parse_ptr_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                            std::vector<std::string>& out) {
    PartResult r = classify(status, abuf, alen);
    if (r.status != DnsStatus::ok) return r;
    hostent* host = nullptr;
    const unsigned char unused_address[4] = {};  // c-ares copies it into the hostent only
    const int parsed = ares_parse_ptr_reply(abuf, alen, unused_address, sizeof unused_address, AF_INET, &host);
    const HostentPtr owned(host);
    if (parsed == ARES_SUCCESS && host != nullptr) {
        if (host->h_name != nullptr) out.emplace_back(host->h_name);
        for (char** alias = host->h_aliases; alias != nullptr && *alias != nullptr; ++alias) out.emplace_back(*alias);
    }
    if (out.size() > records_max) {
        out.resize(records_max);
        r.truncated = true;
    }
    settle(r, parsed, out.empty());
    return r;
}

PartResult combine_address_parts(const PartResult& ipv6, const PartResult& ipv4, bool have_addresses) {
    PartResult r;
    r.secure = ipv6.secure && ipv4.secure;
    r.truncated = ipv6.truncated || ipv4.truncated;
    if (have_addresses) {
        r.status = DnsStatus::ok;
    } else if (ipv6.status == DnsStatus::temp_failure || ipv4.status == DnsStatus::temp_failure) {
        r.status = DnsStatus::temp_failure;
        r.reason = ipv6.status == DnsStatus::temp_failure ? ipv6.reason : ipv4.reason;
    } else if (ipv6.status == DnsStatus::nxdomain || ipv4.status == DnsStatus::nxdomain) {
        r.status = DnsStatus::nxdomain;
    } else {
        r.status = DnsStatus::nodata;
    }
    return r;
}

}  // namespace vmx::net::dns
