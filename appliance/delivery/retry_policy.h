// When a recipient that failed temporarily is tried again, and when it is given up: Postfix's shape
// (the first retry after retry_first_s, doubling up to retry_max_s, until the message has been queued
// for lifetime_s). Pure: no clock of its own, any thread. Outbound delivery uses the same policy.
#pragma once

#include <cstdint>

namespace vmx {

struct RetryPolicy {
    std::uint32_t retry_first_s = 300;
    std::uint32_t retry_max_s = 3600;
    std::uint32_t lifetime_s = 5 * 86400;
};

struct RetryDecision {
    bool give_up = false;            // the next try would come after the lifetime: fail for good
    std::int64_t next_try_unix = 0;  // otherwise: not before this
};

// After the `attempts`-th failed attempt (1 for the first) of a message that arrived at arrival_unix.
constexpr RetryDecision next_retry(const RetryPolicy& policy, std::uint32_t attempts, std::int64_t arrival_unix,
                                   std::int64_t now_unix) noexcept {
    const std::uint32_t doublings = attempts == 0 ? 0 : (attempts - 1 < 16 ? attempts - 1 : 16);
    std::int64_t delay = std::int64_t{policy.retry_first_s} << doublings;
    if (delay > policy.retry_max_s) delay = policy.retry_max_s;
    const std::int64_t next = now_unix + delay;
    return {next - arrival_unix > std::int64_t{policy.lifetime_s}, next};
}

}  // namespace vmx
