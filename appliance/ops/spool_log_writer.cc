// Drained log records into the sealed spool (see spool_log_writer.h).
#include "appliance/ops/spool_log_writer.h"

#include "appliance/ops/log_shipper.h"
#include "core/clock.h"
#include "core/log.h"

namespace vmx {

void SpoolLogWriter::write(const LogRecord& record) {
    // Dropping the newest keeps the held ones' sequence numbers right.
    if (pending_.size() >= held_max) {
        spool_.count_dropped(1);
        return;
    }
    pending_.push_back(format_log_line(record, spool_.next_sequence() + pending_.size(), origin_));
}

void SpoolLogWriter::flush() {
    if (pending_.size() < batch_max && monotonic_ms() - last_commit_ms_ < commit_interval_ms) return;
    commit();
}

void SpoolLogWriter::commit() {
    last_commit_ms_ = monotonic_ms();
    if (pending_.empty()) return;
    auto appended = spool_.append(pending_);
    if (!appended) {
        // Held for the next try; the event below joins them.
        if (!failing_)
            log_event(LogLevel::error, "log.spool_failed", "held={} error={} dropped_total={}", pending_.size(),
                      appended.error().message(), spool_.dropped());
        failing_ = true;
        return;
    }
    pending_.clear();
    if (failing_) log_event(LogLevel::warn, "log.spool_recovered", "dropped_total={}", spool_.dropped());
    failing_ = false;
    if (shipper_ != nullptr) shipper_->wake();
}

}  // namespace vmx
