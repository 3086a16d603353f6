// Structured logging: one event per line, "event=NAME key=value ...". A shard formats into a
// fixed-size record and pushes it onto its own lock-free queue; the control thread drains every
// queue and writes the files (LogSink), so the hot path never blocks on a write. Secrets and
// message content must never be passed here.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace vmx {

enum class LogLevel : std::uint8_t { debug = 0, info = 1, warn = 2, error = 3 };

const char* log_level_name(LogLevel level) noexcept;
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

struct LogRecord {
    static constexpr std::size_t text_bytes_max = 496;
    std::uint64_t time_us = 0;
    LogLevel level = LogLevel::info;
    std::int32_t shard = -1;   // -1: not a shard thread
    std::uint16_t length = 0;
    char text[text_bytes_max];
};

class LogQueue;

// The threshold below which events are dropped before formatting.
void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;

// Binds the calling thread to a queue (a shard does this once at start); nullptr unbinds.
void bind_log_queue(LogQueue* queue, std::int32_t shard) noexcept;

// Hands one formatted record to the calling thread's queue, or, on a thread without one, to the
// shared fallback queue (cold paths: start-up, the control thread, tests).
void submit_log(LogRecord& record) noexcept;

namespace detail {
inline bool enabled(LogLevel level) noexcept { return level >= log_level(); }
}

// log_event(level, "shard.start", "ring={} shards={}", ring, shards)
template <class... Args>
void log_event(LogLevel level, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
    if (!detail::enabled(level)) return;
    LogRecord record;
    record.level = level;
    auto out = fmt::format_to_n(record.text, LogRecord::text_bytes_max, "event={} ", event);
    const std::size_t used = std::min(out.size, LogRecord::text_bytes_max);
    auto rest = fmt::format_to_n(record.text + used, LogRecord::text_bytes_max - used, format,
                                 std::forward<Args>(args)...);
    record.length = static_cast<std::uint16_t>(std::min(used + rest.size, LogRecord::text_bytes_max));
    submit_log(record);
}

}  // namespace vmx
