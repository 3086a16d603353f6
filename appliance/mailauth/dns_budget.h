// DnsBudget: the DNS one message's checks may cost (SPF, DKIM keys, DMARC records together): at
// most lookups_max queries and nothing after the deadline. Every look-up the libraries make goes
// through it, so a hostile domain (twenty chained includes, a server that never answers) costs a
// bounded number of queries and a bounded time. Worker thread only; one per worker, reset per message.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "net/dns/sync_resolver.h"

namespace vmx {

class DnsBudget {
public:
    using Clock = net::dns::SyncResolver::Clock;

    explicit DnsBudget(net::dns::SyncResolver& resolver) : resolver_(resolver) {}

    // A new message: `lookups_max` queries until `deadline`.
    void reset(std::uint32_t lookups_max, Clock::time_point deadline) {
        left_ = lookups_max;
        used_ = 0;
        deadline_ = deadline;
        exhausted_ = false;
    }

    // The answer, or temp_failure without a query once the budget is spent (exhausted() then says so).
    net::dns::SyncAnswer lookup(std::string_view name, net::dns::RecordType type);

    std::uint32_t used() const noexcept { return used_; }
    bool exhausted() const noexcept { return exhausted_; }
    Clock::time_point deadline() const noexcept { return deadline_; }

private:
    net::dns::SyncResolver& resolver_;
    std::uint32_t left_ = 0;
    std::uint32_t used_ = 0;
    Clock::time_point deadline_{};
    bool exhausted_ = false;
};

}  // namespace vmx
