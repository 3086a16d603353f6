// Counters by name: each part keeps relaxed atomics and lists them into a snapshot, so `vaultmx
// stats` and the metrics endpoint read a shard's counters without naming any part's stats struct.
// A new counter is one line where the part lists it; so is a duration histogram
// (core/duration_histogram.h). Snapshots are values: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/duration_histogram.h"

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

    void add(std::string_view name, const DurationHistogram& histogram) {
        histograms_.push_back({name, histogram.snapshot()});
    }
    // Empty counts for a name nobody listed.
    DurationCounts histogram(std::string_view name) const {
        for (const NamedHistogram& h : histograms_)
            if (h.name == name) return h.counts;
        return {};
    }

private:
    struct NamedHistogram {
        std::string_view name;  // a literal: "lane.commit_seconds"
        DurationCounts counts;
    };
    std::vector<NamedCounter> counters_;
    std::vector<NamedHistogram> histograms_;
};

}  // namespace vmx
