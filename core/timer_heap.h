// TimerHeap: a min-heap of deadlines for one shard. Entries are never removed early: the owner
// checks, when one fires, whether it still applies (lazy cancellation), so re-arming an idle
// timer on every received byte costs nothing. Shard thread only.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

namespace vmx {

struct TimerEntry {
    std::uint64_t deadline_ms = 0;
    std::uint64_t token = 0;   // what the owner needs to find the timer's subject again
};

class TimerHeap {
public:
    void push(std::uint64_t deadline_ms, std::uint64_t token) { heap_.push({deadline_ms, token}); }
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    std::uint64_t next_deadline_ms() const noexcept { return heap_.empty() ? UINT64_MAX : heap_.top().deadline_ms; }

    // Pops every entry due at now_ms into fn(token); fn may push new entries.
    template <class Fn>
    void expire(std::uint64_t now_ms, Fn&& fn) {
        while (!heap_.empty() && heap_.top().deadline_ms <= now_ms) {
            const TimerEntry e = heap_.top();
            heap_.pop();
            fn(e.token);
        }
    }

private:
    struct Later {
        bool operator()(const TimerEntry& a, const TimerEntry& b) const noexcept { return a.deadline_ms > b.deadline_ms; }
    };
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, Later> heap_;
};

}  // namespace vmx
