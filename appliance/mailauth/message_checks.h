// MessageChecks: SPF, DKIM and DMARC for one inbound message and the verdict the MX acts on: our
// Authentication-Results header (RFC 8601) and whether the DMARC policy asks for a refusal. One per
// worker thread, owning that worker's resolver, budget and library handles; check() resets the
// budget, so each message gets dns_lookups_max queries and time_max_ms, whatever the one before
// cost. Worker thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/mailauth/dkim_verify.h"
#include "appliance/mailauth/dmarc_check.h"
#include "appliance/mailauth/spf_check.h"
#include "core/result.h"
#include "net/dns/sync_resolver.h"

namespace vmx {

class DnsBudget;

struct CheckSettings {
    std::string authserv_id;          // ours, in the header we add and the ones we strip
    bool spf = true, dkim = true, dmarc = true;
    bool refuse_on_reject = true;     // [mailauth] dmarc_reject: refuse (true) or mark
    std::uint32_t dns_lookups_max = 40;
    std::uint32_t time_max_ms = 10'000;
    std::uint64_t dns_cache_ms = 0;   // answers reused this long ([delivery] dns_cache_s); 0: never
    DkimVerifyOptions dkim_options;
    net::dns::SyncResolverOptions resolver;
};

struct CheckInput {
    std::string client_ip;
    std::string helo;
    std::string mail_from;  // empty: the null sender
};

struct CheckVerdict {
    std::string header;          // "Authentication-Results: ...\r\n", to put on top of the message
    DmarcVerdict dmarc;          // result none when the check is off or there is no single From domain
    bool refuse = false;         // DMARC fail under p=reject, and refuse_on_reject: 550 5.7.1
    bool defer = false;          // the same, but SPF or DKIM failed for now (DNS): 451, try again
    bool unreadable = false;     // a header section the checks cannot trust (malformed, over the
                                 // limits, several From: fields or domains): refused, RFC 7489 6.6.1
    std::vector<std::string> from_domains;  // distinct domains in From: (one for a well-formed message)
    SpfResult spf = SpfResult::none;
    std::size_t dkim_pass = 0, dkim_fail = 0;  // signatures that passed, and that did not
    std::uint32_t dns_lookups = 0;             // what the message cost
    bool budget_exhausted = false;
};

class MessageChecks {
public:
    static Result<std::unique_ptr<MessageChecks>> create(const CheckSettings& settings);
    ~MessageChecks();

    // The verdict on `message` (as received, before our own Received: field).
    CheckVerdict check(const CheckInput& input, std::string_view message);

private:
    explicit MessageChecks(const CheckSettings& settings);
    const CheckSettings settings_;
    std::unique_ptr<net::dns::SyncResolver> resolver_;
    std::unique_ptr<DnsBudget> budget_;
    std::unique_ptr<SpfCheck> spf_;
    std::unique_ptr<DkimVerify> dkim_;
};

// The distinct lower-case domains of the From: field's addresses (RFC 7489 6.6.1); nullopt when the
// header section cannot be trusted to show them all: malformed or over the scanner's limits, a From:
// that is not a mailbox-list, or more than one From: field.
std::optional<std::vector<std::string>> from_domains(std::string_view message);

}  // namespace vmx
