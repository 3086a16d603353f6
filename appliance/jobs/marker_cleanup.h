// The delivery-marker clean-up: a bounded, resumable walk over the `delivered` database of each mail
// segment this shard owns, removing the markers whose queue entry is gone (store/queue.h step 3: a
// marker is needed only while its entry may be handed off again, and entry ids are never reused, so
// once the entry is removed its markers are dead weight that would grow by one per recipient forever).
//
// Threads: shard thread only. Each step finds the dead markers of one page (at most sweep_max, read
// by mailstore/delivery_markers.h) and hands their removal to the store lane; the next step starts
// when that is durable, so a pass holds at most one lane request. Steps follow one another until the
// walk has seen every owned segment, then the next pass waits interval_ms.
// Failure policy: a failed read or write ends the pass (logged, counted); the next pass starts over.
// Nothing is lost by a skipped pass: a marker only ever waits longer.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "appliance/mailstore/delivery_markers.h"
#include "appliance/mailstore/shard_store.h"

namespace vmx {

struct MarkerCleanupOptions {
    std::uint64_t interval_ms = 60'000;  // between passes ([delivery] marker_sweep_s)
    std::size_t sweep_max = 4096;        // markers looked at per step ([delivery] marker_sweep_max)
};

// Relaxed atomics: the control thread reads them for `vaultmx stats`.
struct MarkerCleanupStats {
    std::atomic<std::uint64_t> removed{0};      // markers removed, in all
    std::atomic<std::uint64_t> live{0};         // markers kept by the last complete pass
    std::atomic<std::uint64_t> passes{0};       // complete passes
    std::atomic<std::uint64_t> failures{0};     // passes ended by an error
};

class MarkerCleanup {
public:
    MarkerCleanup(ShardStore& store, MarkerCleanupOptions options) : store_(store), options_(options) {}
    MarkerCleanup(const MarkerCleanup&) = delete;
    MarkerCleanup& operator=(const MarkerCleanup&) = delete;

    // Schedules the first pass after interval_ms.
    void start();
    // Runs a pass now unless one is running (tests, and start()'s timer).
    void run_pass();
    bool running() const noexcept { return running_; }
    const MarkerCleanupStats& stats() const noexcept { return stats_; }

private:
    void step();
    void finish_pass(bool ok);

    ShardStore& store_;
    const MarkerCleanupOptions options_;
    bool running_ = false;
    std::size_t segment_index_ = 0;                 // into store_.envs().segments()
    std::optional<store::DeliveryMarker> resume_;   // where the current segment's walk goes on
    std::uint64_t kept_this_pass_ = 0;
    MarkerCleanupStats stats_;
};

}  // namespace vmx
