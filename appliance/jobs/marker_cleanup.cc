// The delivery-marker clean-up walk (see marker_cleanup.h).
#include "appliance/jobs/marker_cleanup.h"

#include "core/log.h"

namespace vmx {

void MarkerCleanup::start() {
    store_.shard().schedule(options_.interval_ms, [this](Shard&) {
        run_pass();
        start();
    });
}

void MarkerCleanup::run_pass() {
    if (running_) return;
    running_ = true;
    segment_index_ = 0;
    resume_.reset();
    kept_this_pass_ = 0;
    step();
}

// One page of the current segment: find the dead markers, remove them through the lane, and go on
// from the lane's report (or at once when nothing is dead).
void MarkerCleanup::step() {
    const auto& segments = store_.envs().segments();
    if (segment_index_ >= segments.size()) return finish_pass(true);
    const std::uint32_t segment = segments[segment_index_];
    auto verdict = find_dead_markers(store_, segment, resume_, options_.sweep_max);
    if (!verdict) {
        log_event(LogLevel::warn, "delivery.marker_cleanup_failed", "segment={} error=\"{}\"", segment,
                  verdict.error().message());
        return finish_pass(false);
    }
    kept_this_pass_ += verdict->kept;
    resume_ = verdict->resume;
    if (!resume_) ++segment_index_;  // this segment is done: the next one from its start
    if (verdict->dead.empty()) {
        // Nothing to write; yield to the loop between pages so a long walk never holds the shard.
        if (resume_ || segment_index_ < segments.size()) return store_.shard().schedule(0, [this](Shard&) { step(); });
        return finish_pass(true);
    }
    const std::uint64_t dead = verdict->dead.size();
    auto submitted = remove_markers(store_, segment, verdict->dead, [this, dead, segment](const store::WriteResult& r) {
        if (r.error) {
            log_event(LogLevel::warn, "delivery.marker_cleanup_failed", "segment={} error=\"{}\"", segment,
                      r.error.message());
            return finish_pass(false);
        }
        stats_.removed.fetch_add(dead, std::memory_order_relaxed);
        step();
    });
    if (!submitted) finish_pass(false);  // the lane is full of real work: the next pass tries again
}

void MarkerCleanup::finish_pass(bool ok) {
    running_ = false;
    if (!ok) {
        stats_.failures.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    stats_.live.store(kept_this_pass_, std::memory_order_relaxed);
    stats_.passes.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace vmx
