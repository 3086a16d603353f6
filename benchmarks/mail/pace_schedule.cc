// PaceSchedule: due times and late starts. See pace_schedule.h.
#include "benchmarks/mail/pace_schedule.h"

#include <cmath>

#include "core/assert.h"

namespace vmx::bench {

PaceSchedule::PaceSchedule(std::int64_t first_ns, double interval_ns) : first_ns_(first_ns), interval_ns_(interval_ns) {
    VMX_ASSERT(interval_ns > 0);
}

PaceSchedule PaceSchedule::for_thread(std::int64_t run_start_ns, double rate_per_s, std::uint32_t threads,
                                      std::uint32_t thread) {
    VMX_ASSERT(rate_per_s > 0 && threads > 0 && thread < threads);
    const double spacing_ns = 1e9 / rate_per_s;   // between two starts of the whole run
    return PaceSchedule(run_start_ns + std::llround(spacing_ns * thread), spacing_ns * threads);
}

std::int64_t PaceSchedule::due_ns(std::uint64_t start) const {
    return first_ns_ + std::llround(static_cast<double>(start) * interval_ns_);
}

bool PaceSchedule::take(std::int64_t free_since_ns) {
    const bool late = free_since_ns > next_due_ns();
    ++taken_;
    if (late) ++late_;
    return late;
}

}  // namespace vmx::bench
