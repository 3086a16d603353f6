// Counters by name: each part keeps relaxed atomics and lists them into a snapshot, so `vaultmx
// stats` (and the metrics endpoint next) read a shard's counters without naming any part's stats
// struct. A new counter is one line where the part lists it. Snapshots are values: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vmx {

struct NamedCounter {
    std::string_view name;  // a literal: "delivery.accepted", "lane.commits"
    std::uint64_t value = 0;
};

class CounterSnapshot {
public:
    void add(std::string_view name, std::uint64_t value) { counters_.push_back({name, value}); }
    void add(std::string_view name, const std::atomic<std::uint64_t>& value) {
        add(name, value.load(std::memory_order_relaxed));
    }
    // 0 for a name nobody listed.
    std::uint64_t operator[](std::string_view name) const {
        for (const NamedCounter& c : counters_)
            if (c.name == name) return c.value;
        return 0;
    }
    const std::vector<NamedCounter>& all() const noexcept { return counters_; }

private:
    std::vector<NamedCounter> counters_;
};

}  // namespace vmx
