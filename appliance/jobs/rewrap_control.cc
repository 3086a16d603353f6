// Rewrap on the control thread (see rewrap_control.h).
#include "appliance/jobs/rewrap_control.h"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "core/log.h"

namespace vmx {

void RewrapControl::migrate_accounts(std::function<void()> done) {
    accounts_migrated_ = std::move(done);
    if (name_.empty()) start();
}

void RewrapControl::start(Reason reason) {
    retiring_ = keys_.retiring();
    const bool migrating = static_cast<bool>(accounts_migrated_);
    if (retiring_.empty() && reason == Reason::rotation && !migrating) return;
    // A rotation's walk is named after the newest retired version, and the migration's has a fixed
    // name, so after a crash the same walk resumes from the positions its steps saved; a plan
    // change walks afresh. Every walk moves each record to its scope's active key, so any clean
    // one also completes the migration.
    if (!retiring_.empty()) {
        const crypto::KeyRef newest = retiring_.back();
        name_ = fmt::format("rotation-{}-{}", newest.key_id, newest.version);
    } else if (migrating && reason == Reason::rotation) {
        name_ = "account-keys";
    } else {
        name_ = fmt::format("plan-{}-{}", std::time(nullptr), ++walks_);
    }
    progress_.clear();
    for (std::uint32_t s = 0; s < shards_; ++s) {
        progress_[s] = {};
        auto payload = std::make_unique<RewrapStart>();
        payload->name = name_;
        Message m;
        m.kind = message_rewrap_start;
        m.payload = std::move(payload);
        if (!to_shard_(s, std::move(m))) log_event(LogLevel::error, "keys.rewrap_send_failed", "shard={}", s);
    }
    if (global_ != nullptr) {
        if (auto r = global_->start(name_); !r)
            log_event(LogLevel::error, "keys.rewrap_global_failed", "name={} error=\"{}\"", name_, r.error().message());
    }
    log_event(LogLevel::info, "keys.rewrap_requested", "name={} retiring_versions={}", name_, retiring_.size());
}

// Steps of 256 records for at most 10 ms a tick (ticks come at least every 100 ms), so the control
// loop answers the admin socket and the shards in between.
void RewrapControl::tick() {
    constexpr std::size_t batch = 256;
    constexpr auto budget = std::chrono::milliseconds(10);
    if (name_.empty() || global_ == nullptr || !global_->running()) return;
    const auto until = std::chrono::steady_clock::now() + budget;
    while (global_->running() && std::chrono::steady_clock::now() < until) {
        if (auto r = global_->step(*keys_.snapshot(), batch); !r) {
            log_event(LogLevel::warn, "keys.rewrap_global_step_failed", "name={} error=\"{}\"", name_, r.error().message());
            return;  // tried again at the next tick
        }
    }
    if (!global_->running()) finish_when_done();
}

void RewrapControl::on_report(std::uint32_t shard, const RewrapReport& report) {
    if (report.name != name_) return;  // an older walk
    ShardProgress& p = progress_[shard];
    p.scanned = report.scanned;
    p.rewrapped = report.rewrapped;
    p.failed = report.failed;
    p.done = report.done;
    finish_when_done();
}

void RewrapControl::finish_when_done() {
    for (const auto& [s, q] : progress_)
        if (!q.done) return;
    if (global_ != nullptr && global_->running()) return;
    finish();
}

void RewrapControl::finish() {
    std::uint64_t failed = global_ ? global_->progress().failed : 0;
    std::uint64_t rewrapped = global_ ? global_->progress().rewrapped : 0;
    for (const auto& [s, q] : progress_) {
        failed += q.failed;
        rewrapped += q.rewrapped;
    }
    if (failed > 0) {
        last_outcome_ = fmt::format("rewrap {} finished with {} records not rewrapped: retired versions kept", name_, failed);
        log_event(LogLevel::error, "keys.rewrap_incomplete", "name={} failed={}", name_, failed);
        return;
    }
    std::size_t destroyed = 0;
    for (const crypto::KeyRef& ref : retiring_) {
        if (auto r = keys_.finish_retirement(ref); !r)
            log_event(LogLevel::error, "keys.retire_failed", "key={} version={} error=\"{}\"", ref.key_id, ref.version,
                      r.error().message());
        else
            ++destroyed;
    }
    last_outcome_ = fmt::format("rewrap {} done: {} records rewrapped, {} retired version(s) destroyed", name_, rewrapped,
                                destroyed);
    if (accounts_migrated_) {
        auto done = std::move(accounts_migrated_);
        accounts_migrated_ = nullptr;
        done();
    }
    log_event(LogLevel::info, "keys.rewrap_finished", "name={} rewrapped={} destroyed={}", name_, rewrapped, destroyed);
    retiring_.clear();
    name_.clear();
    progress_.clear();
}

std::string RewrapControl::status() const {
    if (name_.empty()) return last_outcome_.empty() ? "rewrap: idle" : "rewrap: idle (last: " + last_outcome_ + ")";
    std::uint32_t done = 0;
    std::uint64_t scanned = 0, rewrapped = 0, failed = 0;
    if (global_ != nullptr) {
        scanned = global_->progress().scanned;
        rewrapped = global_->progress().rewrapped;
        failed = global_->progress().failed;
    }
    for (const auto& [s, q] : progress_) {
        done += q.done ? 1 : 0;
        scanned += q.scanned;
        rewrapped += q.rewrapped;
        failed += q.failed;
    }
    const bool control_done = global_ == nullptr || !global_->running();
    return fmt::format("rewrap: running {} ({}/{} shards done, control thread's records {}, {} records scanned, {} rewrapped, "
                       "{} failed)",
                       name_, done, progress_.size(), control_done ? "done" : "in progress", scanned, rewrapped, failed);
}

}  // namespace vmx
