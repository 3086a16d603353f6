// Batched login history writes (see login_recorder.h).
#include "appliance/auth/login_recorder.h"

#include "core/log.h"

namespace vmx {

void LoginRecorder::add(LoginEvent event) {
    pending_.push_back(std::move(event));
    if (pending_.size() >= pending_max) flush();
}

Result<void> LoginRecorder::record_now(LoginEvent event) {
    pending_.push_back(std::move(event));
    auto written = history_.append(*keys_.snapshot(), pending_);
    if (!written)
        log_event(LogLevel::error, "logins.write_failed", "events={} error=\"{}\"", pending_.size(), written.error().message());
    pending_.clear();
    return written;
}

void LoginRecorder::flush() {
    if (pending_.empty()) return;
    if (auto r = history_.append(*keys_.snapshot(), pending_); !r)
        log_event(LogLevel::error, "logins.write_failed", "events={} error=\"{}\"", pending_.size(), r.error().message());
    pending_.clear();
}

void LoginRecorder::tick(std::int64_t now_unix) {
    flush();
    if (now_unix < next_purge_) return;
    next_purge_ = now_unix + purge_interval_s;
    auto purged = history_.purge_before(now_unix - retention_s_, purge_entries_max);
    if (!purged) log_event(LogLevel::warn, "logins.purge_failed", "error=\"{}\"", purged.error().message());
    else if (*purged > 0) log_event(LogLevel::info, "logins.purged", "entries={}", *purged);
}

}  // namespace vmx
