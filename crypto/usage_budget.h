// UsageBudget: counts the invocations of one long-lived AES-GCM key. With random 96-bit IVs,
// SP 800-38D section 8.3 caps a key at 2^32 invocations; we rotate at half of a 2^31 default, well
// before. Any thread may call take() concurrently (one atomic); rotation_due() is a hint to the
// owner, take() is the hard stop.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/assert.h"
#include "core/result.h"
#include "crypto/errc.h"

namespace vmx::crypto {

class UsageBudget {
public:
    static constexpr std::uint64_t default_limit = std::uint64_t{1} << 31;

    explicit UsageBudget(std::uint64_t limit = default_limit) noexcept : limit_(limit) { VMX_ASSERT(limit > 0); }
    UsageBudget(const UsageBudget&) = delete;
    UsageBudget& operator=(const UsageBudget&) = delete;

    // Reserves n uses, or fails with usage_exhausted (and reserves nothing) if that would pass the
    // limit: a key with a budget of L performs at most L encryptions.
    Result<void> take(std::uint64_t n = 1) noexcept {
        std::uint64_t used = used_.load(std::memory_order_relaxed);
        do {
            if (n > limit_ - used) return fail(CryptoErrc::usage_exhausted);
        } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
        return {};
    }

    // True from half the limit on: time to roll to a new key while this one still works.
    bool rotation_due() const noexcept { return used_.load(std::memory_order_relaxed) >= limit_ / 2; }

    std::uint64_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
    std::uint64_t limit() const noexcept { return limit_; }

private:
    const std::uint64_t limit_;
    std::atomic<std::uint64_t> used_{0};
};

}  // namespace vmx::crypto
