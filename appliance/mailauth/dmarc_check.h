// DmarcCheck: DMARC (RFC 7489) for one message with libopendmarc: the policy record found through
// the message's DnsBudget (at _dmarc.FROM-DOMAIN, else at the organisational domain from the public
// suffix list, 6.6.3), the SPF and DKIM results stored, and alignment and the policy to apply read
// back. libopendmarc never queries DNS itself here: records are handed to it. Worker threads;
// library set-up (the suffix list) once per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace vmx {

class DnsBudget;
struct DkimSignatureResult;
struct SpfVerdict;

enum class DmarcResult : std::uint8_t { none, pass, fail, temperror, permerror };
enum class DmarcPolicy : std::uint8_t { none, quarantine, reject };
const char* to_string(DmarcResult result) noexcept;
const char* to_string(DmarcPolicy policy) noexcept;

struct DmarcVerdict {
    DmarcResult result = DmarcResult::none;
    DmarcPolicy policy = DmarcPolicy::none;  // what the domain asks for a failing message (p=, or sp=)
    std::string from_domain;                 // lower case
};

// Reads the public suffix list (Debian's publicsuffix package). Once, before any worker checks;
// an error when the file cannot be read.
Result<void> init_dmarc_library(const std::string& suffix_list_path);
inline constexpr const char* default_suffix_list = "/usr/share/publicsuffix/effective_tld_names.dat";

// The policy record of a From: domain (RFC 7489 6.6.3): at _dmarc.DOMAIN, else at the organisational
// domain; several records at either end the discovery (none). Looked up before SPF and DKIM run, so
// that a sender whose SPF or DKIM look-ups use up the message's DNS cannot keep its policy unread.
struct DmarcRecord {
    enum class State : std::uint8_t { none, found, temporary } state = State::none;
    std::string policy_domain;  // where the record was found
    std::string text;
};
DmarcRecord discover_dmarc(DnsBudget& budget, const std::string& from_domain);

// The message's verdict for its From: domain (already lower case, from the one From: address).
DmarcVerdict check_dmarc(const DmarcRecord& record, const std::string& from_domain, const std::string& client_ip,
                         const SpfVerdict& spf_mail_from, const std::vector<DkimSignatureResult>& dkim);

// The organisational domain (RFC 7489 3.2) of a lower-case domain.
std::string organizational_domain(const std::string& domain);

}  // namespace vmx
