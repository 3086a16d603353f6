// DnsBudget: the DNS one message's checks may cost (SPF, DKIM keys, DMARC records together): at
// most lookups_max queries and nothing after the deadline. Every look-up the libraries make goes
// through it, so a hostile domain (twenty chained includes, a server that never answers) costs a
// bounded number of queries and a bounded time. Answers (not temporary failures) are kept for
// cache_ms ([delivery] dns_cache_s), at most cache_entries_max of them, so the mail of a busy sender
// does not ask the same five questions for every message; an answer from the cache costs nothing.
// Worker thread only; one per worker, reset per message.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/dns/sync_resolver.h"

namespace vmx {

class DnsBudget {
public:
    using Clock = net::dns::SyncResolver::Clock;

    static constexpr std::size_t cache_entries_max = 10'000;

    explicit DnsBudget(net::dns::SyncResolver& resolver, std::uint64_t cache_ms = 0)
        : resolver_(resolver), cache_ms_(cache_ms) {}

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
    struct Cached {
        Clock::time_point expires;
        net::dns::SyncAnswer answer;
    };

    net::dns::SyncResolver& resolver_;
    const std::uint64_t cache_ms_;
    std::unordered_map<std::string, Cached> cache_;  // key: the type's number, a space, the name
    std::uint32_t left_ = 0;
    std::uint32_t used_ = 0;
    Clock::time_point deadline_{};
    bool exhausted_ = false;
};

}  // namespace vmx
