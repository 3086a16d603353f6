// PaceSchedule: the open-loop timetable of one load thread under --rate. Start k is due at
// first_ns + k * interval_ns, computed from k so rounding never drifts. Pure: the driver brings
// the time and the slot that is to take the start; one per load thread, touched only by it.
// A start is late when no slot was free at its time, i.e. the slot that takes it became free only
// after the start was due. Late starts are not dropped: each begins as soon as a slot is free, so
// the rate asked is kept and the count says how far the load fell behind.
#pragma once

#include <cstdint>

namespace vmx::bench {

// What --rate paces: whole sessions (one message per connection) or each transaction's MAIL.
enum class PaceUnit : std::uint8_t { none, session, transaction };

class PaceSchedule {
public:
    PaceSchedule() = default;
    PaceSchedule(std::int64_t first_ns, double interval_ns);
    // Thread `thread` of `threads` sharing `rate_per_s`: each runs rate_per_s / threads, offset by
    // 1 / rate_per_s from the previous one, so together they start work evenly over time.
    static PaceSchedule for_thread(std::int64_t run_start_ns, double rate_per_s, std::uint32_t threads,
                                   std::uint32_t thread);

    std::int64_t next_due_ns() const { return due_ns(taken_); }
    bool due(std::int64_t now_ns) const { return next_due_ns() <= now_ns; }
    // The next start goes to a slot free since free_since_ns. Returns true when it is late.
    bool take(std::int64_t free_since_ns);

    std::int64_t due_ns(std::uint64_t start) const;
    std::uint64_t taken() const { return taken_; }
    std::uint64_t late() const { return late_; }

private:
    std::int64_t first_ns_ = 0;
    double interval_ns_ = 0;
    std::uint64_t taken_ = 0;
    std::uint64_t late_ = 0;
};

}  // namespace vmx::bench
