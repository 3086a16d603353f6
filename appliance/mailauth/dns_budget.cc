// A message's DNS allowance (see dns_budget.h).
#include "appliance/mailauth/dns_budget.h"

#include <ares.h>

#include "net/dns/ares_category.h"

namespace vmx {

net::dns::SyncAnswer DnsBudget::lookup(std::string_view name, net::dns::RecordType type) {
    if (left_ == 0 || Clock::now() >= deadline_) {
        exhausted_ = true;
        net::dns::SyncAnswer refused;
        refused.status = net::dns::DnsStatus::temp_failure;
        refused.reason = net::dns::ares_error(ARES_ETIMEOUT);
        return refused;
    }
    --left_;
    ++used_;
    auto answer = resolver_.lookup(name, type, deadline_);
    if (answer.status == net::dns::DnsStatus::temp_failure && Clock::now() >= deadline_) exhausted_ = true;
    return answer;
}

}  // namespace vmx
