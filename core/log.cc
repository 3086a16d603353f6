// The logging front end: level filter, per-thread queue binding, and the fallback path.
#include "core/log.h"

#include <deque>
#include <mutex>

#include "core/clock.h"
#include "core/log_sink.h"

namespace vmx {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
thread_local LogQueue* t_queue = nullptr;
thread_local std::int32_t t_shard = -1;

}  // namespace

namespace detail {
// Records from threads without a queue of their own wait here for the control thread. (A deque
// allocates its first block before main; if that fails there is nothing to run anyway.)
std::mutex g_fallback_mutex;
std::deque<LogRecord> g_fallback;  // NOLINT(cert-err58-cpp)
constexpr std::size_t fallback_records_max = 65536;
std::atomic<std::uint64_t> g_fallback_dropped{0};
}  // namespace detail

const char* log_level_name(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "info";
}

bool parse_log_level(std::string_view text, LogLevel& out) noexcept {
    for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
        if (text == log_level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void set_log_level(LogLevel level) noexcept { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() noexcept { return g_level.load(std::memory_order_relaxed); }

void bind_log_queue(LogQueue* queue, std::int32_t shard) noexcept {
    t_queue = queue;
    t_shard = shard;
}

void submit_log(LogRecord& record) noexcept {
    record.time_us = wall_us();
    record.shard = t_shard;
    if (t_queue) {
        if (!t_queue->push(record)) t_queue->dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::lock_guard lock(detail::g_fallback_mutex);
    if (detail::g_fallback.size() >= detail::fallback_records_max) {
        detail::g_fallback_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    detail::g_fallback.push_back(record);
}

}  // namespace vmx
