// Rewrap on one shard (see rewrap_runner.h).
#include "appliance/jobs/rewrap_runner.h"

#include "appliance/directory/account.h"
#include "core/log.h"
#include "store/queue.h"

namespace vmx {

void RewrapRunner::start(const std::string& name) {
    if (running_ && name == name_) return;
    name_ = name;
    walks_.clear();
    current_ = 0;
    total_ = {};
    const auto snapshot = store_.keys_snapshot();
    walks_ = rewrap_walks(store_, name, [this, &snapshot](store::SegmentKind kind) { return scope_of(kind, snapshot); });
    running_ = true;
    log_event(LogLevel::info, "keys.rewrap_start", "name={} walks={}", name_, walks_.size());
    step();
}

// Which scope an owner's records belong under: a user's by the organisation's plan, the appliance
// scope for the queue and the appliance's own temp records. Runs on the lane thread (reads only).
store::ScopeOf RewrapRunner::scope_of(store::SegmentKind kind, std::shared_ptr<const crypto::KeySet> snapshot) const {
    const Directory* directory = &directory_;
    const std::uint32_t segments = store_.segment_count();
    return [directory, kind, snapshot = std::move(snapshot), segments](std::uint64_t owner) -> std::optional<crypto::Scope> {
        if (kind == store::SegmentKind::smtp_in || kind == store::SegmentKind::smtp_out || owner == 0)
            return store::queue_scope;
        auto account = account_of(*directory, *snapshot, owner, segments);
        if (!account) return std::nullopt;  // a closed account: its records are left for its purge
        return account->mailbox.scope;
    };
}

void RewrapRunner::step() {
    if (current_ >= walks_.size()) {
        running_ = false;
        report(true);
        log_event(LogLevel::info, "keys.rewrap_done", "name={} scanned={} rewrapped={} failed={}", name_, total_.scanned,
                  total_.rewrapped, total_.failed);
        return;
    }
    RewrapWalk& walk = walks_[current_];
    store::RewrapJob* job = walk.job.get();
    auto keys = store_.keys_snapshot();
    const std::size_t batch = options_.batch;
    auto progress = std::make_shared<store::RewrapProgress>();
    store::WriteRequest request;
    request.env = store_.lane_env(walk.segment, walk.kind);
    request.job = [job, keys, batch, progress]() -> Result<std::uint64_t> {
        auto p = job->step(*keys, batch);
        if (!p) return fail(p.error());
        *progress = *p;
        return p->rewrapped;
    };
    const std::string name = name_;
    auto submitted = store_.submit(std::move(request), [this, name, progress](const store::WriteResult& r) {
        if (name != name_) return;  // a newer walk replaced this one
        if (r.error) {
            log_event(LogLevel::warn, "keys.rewrap_step_failed", "name={} error=\"{}\"", name, r.error.message());
            shard_.schedule(1000, [this](Shard&) { step(); });  // resumes from its saved position
            return;
        }
        total_.scanned += progress->scanned;
        total_.rewrapped += progress->rewrapped;
        total_.failed += progress->failed;
        if (progress->done) {
            ++current_;
            report(false);
        }
        shard_.schedule(options_.pause_ms, [this](Shard&) { step(); });
    });
    if (!submitted) shard_.schedule(100, [this](Shard&) { step(); });
}

void RewrapRunner::report(bool done) {
    auto payload = std::make_unique<RewrapReport>();
    payload->name = name_;
    payload->scanned = total_.scanned;
    payload->rewrapped = total_.rewrapped;
    payload->failed = total_.failed;
    payload->done = done;
    Message m;
    m.kind = message_rewrap_progress;
    m.payload = std::move(payload);
    if (!shard_.send_message(shard_.shard_count(), std::move(m)) && done)
        shard_.schedule(100, [this](Shard&) { report(true); });
}

}  // namespace vmx
