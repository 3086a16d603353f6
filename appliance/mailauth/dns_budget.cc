// A message's DNS allowance (see dns_budget.h).
#include "appliance/mailauth/dns_budget.h"

#include <ares.h>

#include <string>

#include "net/dns/ares_category.h"

namespace vmx {

net::dns::SyncAnswer DnsBudget::lookup(std::string_view name, net::dns::RecordType type) {
    const Clock::time_point now = Clock::now();
    std::string key = std::to_string(static_cast<int>(type)) + ' ';
    for (const char c : name) key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (auto it = cache_.find(key); it != cache_.end()) {
        if (it->second.expires > now) return it->second.answer;
        cache_.erase(it);
    }
    if (left_ == 0 || now >= deadline_) {
        exhausted_ = true;
        net::dns::SyncAnswer refused;
        refused.status = net::dns::DnsStatus::temp_failure;
        refused.reason = net::dns::ares_error(ARES_ETIMEOUT);
        return refused;
    }
    --left_;
    ++used_;
    auto answer = resolver_.lookup(name, type, deadline_);
    if (answer.status == net::dns::DnsStatus::temp_failure) {
        if (Clock::now() >= deadline_) exhausted_ = true;
        return answer;
    }
    if (cache_ms_ > 0) {
        if (cache_.size() >= cache_entries_max) cache_.clear();  // a flood of names starts it over
        cache_.insert_or_assign(std::move(key), Cached{now + std::chrono::milliseconds(cache_ms_), answer});
    }
    return answer;
}

}  // namespace vmx
