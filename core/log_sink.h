// LogSink: the writing end of logging, run by the control thread. It owns the queues the shards
// log into, drains them (and the fallback queue) into a LogWriter (the daemon's sealed spool) or,
// until one is set, a file or stderr, and counts what was dropped because a queue was full. Only the
// control thread calls drain(), set_writer() and set_echo().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/result.h"
#include "core/spsc_queue.h"

namespace vmx {

class LogQueue {
public:
    explicit LogQueue(std::size_t capacity) : queue_(capacity) {}
    bool push(LogRecord& r) { return queue_.push(r); }
    std::optional<LogRecord> pop() { return queue_.pop(); }
    std::atomic<std::uint64_t> dropped{0};

private:
    SpscQueue<LogRecord> queue_;
};

enum class LogEcho : std::uint8_t { none, stderr_too };

// Where drained records go once the daemon has somewhere safe to keep them. Called on the control
// thread: write() for each record in order, then flush() once per drain.
class LogWriter {
public:
    virtual ~LogWriter() = default;
    virtual void write(const LogRecord& record) = 0;
    virtual void flush() = 0;
};

// "2026-12-06T10:13:38.123456Z": the record's time in UTC with microseconds (RFC 3339).
std::string format_log_time(std::uint64_t time_us);
// The same to the second, for people: "2026-12-06T14:00:00Z".
std::string format_utc_seconds(std::int64_t unix_s);

class LogSink {
public:
    // Opens (appends to) `path`; an empty path writes to stderr only (until a writer is set).
    static Result<std::unique_ptr<LogSink>> open(const std::string& path, LogEcho echo);
    ~LogSink();
    LogSink(const LogSink&) = delete;
    LogSink& operator=(const LogSink&) = delete;

    // A queue for one shard thread; owned by the sink so it outlives the thread's last event.
    LogQueue* make_queue(std::size_t capacity);
    // Writes every waiting record; returns how many.
    std::size_t drain();
    std::uint64_t dropped() const noexcept;
    // From now on records go to `writer` (not owned; null: back to the file or stderr). The daemon
    // sets it once its spool is open, so start-up lines before that still reach stderr.
    void set_writer(LogWriter* writer) noexcept { writer_ = writer; }
    void set_echo(LogEcho echo) noexcept { echo_ = echo; }

private:
    LogSink(int fd, LogEcho echo) : fd_(fd), echo_(echo) {}
    void write_record(const LogRecord& r);
    void flush();

    int fd_ = -1;
    LogEcho echo_ = LogEcho::none;
    LogWriter* writer_ = nullptr;
    std::mutex queues_mutex_;  // guards queues_ against make_queue during drain (start-up only)
    std::vector<std::unique_ptr<LogQueue>> queues_;
    std::string buffer_;
};

}  // namespace vmx
