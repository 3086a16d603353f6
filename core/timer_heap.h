// TimerHeap: a min-heap of deadlines for one shard. Entries are never removed early: the owner
// checks, when one fires, whether it still applies (lazy cancellation), so re-arming an idle
// timer on every received byte costs nothing. Entries of closed connections would pile up under
// heavy connection churn with long timeouts, so the owner compacts the heap (drop_if) when stale
// entries outnumber live ones. Shard thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace vmx {

struct TimerEntry {
    std::uint64_t deadline_ms = 0;
    std::uint64_t token = 0;   // what the owner needs to find the timer's subject again
};

class TimerHeap {
public:
    void push(std::uint64_t deadline_ms, std::uint64_t token) {
        heap_.push_back({deadline_ms, token});
        std::push_heap(heap_.begin(), heap_.end(), Later{});
    }
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    std::uint64_t next_deadline_ms() const noexcept { return heap_.empty() ? UINT64_MAX : heap_.front().deadline_ms; }

    // Pops every entry due at now_ms into fn(token); fn may push new entries.
    template <class Fn>
    void expire(std::uint64_t now_ms, Fn&& fn) {
        while (!heap_.empty() && heap_.front().deadline_ms <= now_ms) {
            std::pop_heap(heap_.begin(), heap_.end(), Later{});
            const TimerEntry e = heap_.back();
            heap_.pop_back();
            fn(e.token);
        }
    }

    // Removes every entry whose token stale(token) says no longer applies; O(n).
    template <class Pred>
    void drop_if(Pred&& stale) {
        std::erase_if(heap_, [&](const TimerEntry& e) { return stale(e.token); });
        std::make_heap(heap_.begin(), heap_.end(), Later{});
    }

private:
    struct Later {
        bool operator()(const TimerEntry& a, const TimerEntry& b) const noexcept { return a.deadline_ms > b.deadline_ms; }
    };
    std::vector<TimerEntry> heap_;
};

}  // namespace vmx
