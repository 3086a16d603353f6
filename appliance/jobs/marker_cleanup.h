// The delivery-marker clean-up: a bounded, resumable walk over the `delivered` database of each mail
// segment this shard owns, removing the markers whose queue entry is gone (store/queue.h step 3: a
// marker is needed only while its entry may be handed off again, and entry ids are never reused, so
// once the entry is removed its markers are dead weight that would grow by one per recipient forever).
//
// A SegmentWalk (segment_walk.h): each step finds the dead markers of one page (at most sweep_max,
// read by mailstore/delivery_markers.h) and hands their removal to the store lane; the next step
// starts when that is durable, so a pass holds at most one lane request.
// Failure policy: a failed read or write ends the pass (logged, counted); the next pass starts over.
// Nothing is lost by a skipped pass: a marker only ever waits longer. On a store shared by nodes a
// step's page is read by a store reader. Shard thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <vector>

#include "appliance/common/counters.h"
#include "appliance/jobs/segment_walk.h"
#include "appliance/mailstore/delivery_markers.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"

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

    void list(CounterSnapshot& out) const {
        out.add("markers.live", live);
        out.add("markers.removed", removed);
        out.add("markers.passes", passes);
        out.add("markers.failures", failures);
    }
};

class MarkerCleanup {
public:
    // `reads`: a shared store's readers, which read each page; null: read on this shard.
    MarkerCleanup(ShardStore& store, MarkerCleanupOptions options, ShardReads* reads = nullptr);
    MarkerCleanup(const MarkerCleanup&) = delete;
    MarkerCleanup& operator=(const MarkerCleanup&) = delete;

    // A pass every interval_ms from now on.
    void start() { walk_.start(); }
    // A pass now unless one is running (tests, and start()'s timer).
    void run_pass() { walk_.run_pass(); }
    bool running() const noexcept { return walk_.running(); }
    const MarkerCleanupStats& stats() const noexcept { return stats_; }

private:
    using Walk = SegmentWalk<store::DeliveryMarker>;
    void step(std::uint32_t segment, const std::optional<store::DeliveryMarker>& from, const Walk::StepDone& done);
    void remove(std::uint32_t segment, Result<MarkerPageVerdict> verdict, const Walk::StepDone& done);
    void pass_done(bool ok);

    ShardStore& store_;
    const MarkerCleanupOptions options_;
    ShardReads* reads_;
    std::uint64_t kept_this_pass_ = 0;
    MarkerCleanupStats stats_;
    Walk walk_;  // last: its timer callbacks reach the members above
};

}  // namespace vmx
