// LogSink: drains shard queues and the fallback queue into one append-only file.
#include "core/log_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <deque>

namespace vmx {

namespace detail {
extern std::mutex g_fallback_mutex;
extern std::deque<LogRecord> g_fallback;
extern std::atomic<std::uint64_t> g_fallback_dropped;
}  // namespace detail

Result<std::unique_ptr<LogSink>> LogSink::open(const std::string& path, LogEcho echo) {
    int fd = -1;
    if (!path.empty()) {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0) return fail_errno(errno);
    }
    return std::unique_ptr<LogSink>(new LogSink(fd, echo));
}

LogSink::~LogSink() {
    drain();
    if (fd_ >= 0) close(fd_);
}

LogQueue* LogSink::make_queue(std::size_t capacity) {
    std::lock_guard lock(queues_mutex_);
    queues_.push_back(std::make_unique<LogQueue>(capacity));
    return queues_.back().get();
}

std::uint64_t LogSink::dropped() const noexcept {
    std::uint64_t total = detail::g_fallback_dropped.load(std::memory_order_relaxed);
    for (const auto& q : queues_) total += q->dropped.load(std::memory_order_relaxed);
    return total;
}

std::size_t LogSink::drain() {
    std::size_t written = 0;
    {
        std::deque<LogRecord> pending;
        {
            std::lock_guard lock(detail::g_fallback_mutex);
            pending.swap(detail::g_fallback);
        }
        for (const auto& r : pending) write_record(r), ++written;
    }
    {
        std::lock_guard lock(queues_mutex_);
        for (auto& q : queues_) {
            while (auto r = q->pop()) write_record(*r), ++written;
        }
    }
    flush();
    return written;
}

std::string format_log_time(std::uint64_t time_us) {
    const auto seconds = static_cast<std::time_t>(time_us / 1000000u);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[32];
    const std::size_t stamp_bytes = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:06}Z", std::string_view(stamp, stamp_bytes), time_us % 1000000u);
}

std::string format_utc_seconds(std::int64_t unix_s) {
    const auto seconds = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[32];
    const std::size_t stamp_bytes = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(stamp, stamp_bytes);
}

void LogSink::write_record(const LogRecord& r) {
    if (writer_ != nullptr) {
        writer_->write(r);
        if (echo_ == LogEcho::none) return;
    }
    fmt::format_to(std::back_inserter(buffer_), "{} level={} ", format_log_time(r.time_us), log_level_name(r.level));
    if (r.shard >= 0) fmt::format_to(std::back_inserter(buffer_), "shard={} ", r.shard);
    // A field value never carries a newline into the file: one event, one line.
    for (std::size_t i = 0; i < r.length; ++i) {
        const char c = r.text[i];
        buffer_.push_back((c == '\n' || c == '\r') ? ' ' : c);
    }
    buffer_.push_back('\n');
}

void LogSink::flush() {
    if (writer_ != nullptr) writer_->flush();
    if (buffer_.empty()) return;
    auto write_all = [this](int fd) {
        std::size_t off = 0;
        while (off < buffer_.size()) {
            const ssize_t n = ::write(fd, buffer_.data() + off, buffer_.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // a full disk must not stop the control thread; events are lost
            off += static_cast<std::size_t>(n);
        }
    };
    // With a writer the buffer holds only the echo; without one, the file (or stderr if none).
    if (writer_ == nullptr && fd_ >= 0) write_all(fd_);
    if ((writer_ == nullptr && fd_ < 0) || echo_ == LogEcho::stderr_too) write_all(STDERR_FILENO);
    buffer_.clear();
}

}  // namespace vmx
