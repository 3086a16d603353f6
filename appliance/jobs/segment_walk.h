// The shape of every background walk over the segments a shard owns (the trash purge, the marker
// clean-up; backups, export and closure next): a pass every interval_ms; a pass visits each owned
// segment in steps, each bounded by the walk's own step function and resumable from the position
// the step before returned; a step may finish at once or later (after its lane write), and the next
// step starts only then, so a walk holds at most one piece of work at a time. Between steps the walk
// yields to the shard's loop. A failed step ends the pass (the next pass starts over); nothing is
// lost by that, the work only waits longer.
// Threads: shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <system_error>
#include <vector>

#include "core/result.h"
#include "core/shard.h"

namespace vmx {

template <class Position>
class SegmentWalk {
public:
    // A step's outcome: where the segment's walk goes on, or nullopt when the segment is done.
    using StepDone = std::function<void(Result<std::optional<Position>>)>;
    // What the walk does: begin (a pass starts), step (one bounded piece of one segment), end (the
    // pass is over, ok or ended by a failed step). Only step is required.
    struct Hooks {
        std::function<void()> begin;
        std::function<void(std::uint32_t segment, const std::optional<Position>& from, StepDone done)> step;
        std::function<void(bool ok)> end;
    };

    SegmentWalk(Shard& shard, std::vector<std::uint32_t> segments, std::uint64_t interval_ms, Hooks hooks)
        : shard_(shard), segments_(std::move(segments)), interval_ms_(interval_ms), hooks_(std::move(hooks)) {}
    SegmentWalk(const SegmentWalk&) = delete;
    SegmentWalk& operator=(const SegmentWalk&) = delete;

    // A pass every interval_ms from now on (none when interval_ms is 0).
    void start() {
        if (interval_ms_ == 0) return;
        shard_.schedule(interval_ms_, [this](Shard&) {
            run_pass();
            start();
        });
    }
    // Starts a pass now unless one is running; its first step runs before this returns.
    void run_pass() {
        if (running_) return;
        running_ = true;
        index_ = 0;
        position_.reset();
        if (hooks_.begin) hooks_.begin();
        next();
    }
    bool running() const noexcept { return running_; }

private:
    void next() {
        if (index_ >= segments_.size()) return finish(true);
        hooks_.step(segments_[index_], position_, [this](Result<std::optional<Position>> r) {
            if (!r) return finish(false);
            position_ = std::move(*r);
            if (!position_) ++index_;
            if (index_ >= segments_.size()) return finish(true);
            shard_.schedule(0, [this](Shard&) { next(); });  // yield to the loop between steps
        });
    }
    void finish(bool ok) {
        running_ = false;
        if (hooks_.end) hooks_.end(ok);
    }

    Shard& shard_;
    const std::vector<std::uint32_t> segments_;
    const std::uint64_t interval_ms_;
    Hooks hooks_;
    bool running_ = false;
    std::size_t index_ = 0;               // into segments_
    std::optional<Position> position_;    // where the current segment's walk goes on
};

}  // namespace vmx
