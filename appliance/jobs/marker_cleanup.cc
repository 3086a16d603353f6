// The delivery-marker clean-up walk (see marker_cleanup.h).
#include "appliance/jobs/marker_cleanup.h"

#include "core/log.h"
#include "store/errc.h"

namespace vmx {

MarkerCleanup::MarkerCleanup(ShardStore& store, MarkerCleanupOptions options, ShardReads* reads)
    : store_(store), options_(options), reads_(reads),
      walk_(store.shard(), store.envs().segments(), options.interval_ms,
            Walk::Hooks{[this] { kept_this_pass_ = 0; },
                        [this](std::uint32_t segment, const std::optional<store::DeliveryMarker>& from,
                               const Walk::StepDone& done) { step(segment, from, done); },
                        [this](bool ok) { pass_done(ok); }}) {}

// One page of a segment's markers: the dead ones go to the lane, the walk goes on once that is durable.
void MarkerCleanup::step(std::uint32_t segment, const std::optional<store::DeliveryMarker>& from,
                         const Walk::StepDone& done) {
    const bool queued = read_then(
        reads_,
        [view = store_view(store_), segment, from, max = options_.sweep_max] {
            return find_dead_markers(view, segment, from, max);
        },
        [this, segment, done](Result<MarkerPageVerdict> verdict) { remove(segment, std::move(verdict), done); });
    if (!queued) done(fail(store::StoreErrc::queue_full));
}

void MarkerCleanup::remove(std::uint32_t segment, Result<MarkerPageVerdict> verdict, const Walk::StepDone& done) {
    if (!verdict) {
        log_event(LogLevel::warn, "delivery.marker_cleanup_failed", "segment={} error=\"{}\"", segment,
                  verdict.error().message());
        return done(fail(verdict.error()));
    }
    kept_this_pass_ += verdict->kept;
    const std::optional<store::DeliveryMarker> resume = verdict->resume;
    if (verdict->dead.empty()) return done(resume);
    const std::uint64_t dead = verdict->dead.size();
    auto removed = [this, dead, segment, resume, done](const store::WriteResult& r) {
        if (r.error) {
            log_event(LogLevel::warn, "delivery.marker_cleanup_failed", "segment={} error=\"{}\"", segment,
                      r.error.message());
            return done(fail(r.error));
        }
        stats_.removed.fetch_add(dead, std::memory_order_relaxed);
        done(resume);
    };
    // A full lane is busy with real work: this pass ends and the next one tries again.
    if (auto submitted = remove_markers(store_, segment, verdict->dead, removed); !submitted) done(fail(submitted.error()));
}

void MarkerCleanup::pass_done(bool ok) {
    if (!ok) {
        stats_.failures.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    stats_.live.store(kept_this_pass_, std::memory_order_relaxed);
    stats_.passes.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vmx
