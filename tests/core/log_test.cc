// Logging: level filter, one event per line, shard queues drained by the sink.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "core/log_sink.h"

namespace vmx {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct TempLog {
    TempLog() : path(std::filesystem::temp_directory_path() / ("vmx-log-" + std::to_string(getpid()) + ".log")) {
        std::filesystem::remove(path);
    }
    ~TempLog() { std::filesystem::remove(path); }
    std::filesystem::path path;
};

TEST(Log, WritesOneLinePerEventWithFields) {
    TempLog tmp;
    auto sink = LogSink::open(tmp.path, LogEcho::none);
    ASSERT_TRUE(sink);
    (*sink)->drain();  // whatever earlier tests left in the fallback queue
    std::filesystem::resize_file(tmp.path, 0);
    set_log_level(LogLevel::info);
    log_event(LogLevel::info, "test.event", "key={} other={}", 42, "a\nb");
    log_event(LogLevel::debug, "test.hidden", "x={}", 1);
    (*sink)->drain();
    const std::string text = read_file(tmp.path);
    EXPECT_NE(text.find("level=info event=test.event key=42 other=a b\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("test.hidden"), std::string::npos);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(Log, ShardQueuesAreDrainedWithTheirShardId) {
    TempLog tmp;
    auto sink = LogSink::open(tmp.path, LogEcho::none);
    ASSERT_TRUE(sink);
    LogQueue* queue = (*sink)->make_queue(16);
    std::thread shard([&] {
        bind_log_queue(queue, 3);
        for (int i = 0; i < 20; ++i) log_event(LogLevel::warn, "shard.busy", "i={}", i);
        bind_log_queue(nullptr, -1);
    });
    shard.join();
    (*sink)->drain();
    const std::string text = read_file(tmp.path);
    EXPECT_NE(text.find("level=warn shard=3 event=shard.busy i=0\n"), std::string::npos) << text;
    // The queue holds 16; the rest were dropped without blocking, and counted.
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 16);
    EXPECT_EQ((*sink)->dropped(), 4u);
}

TEST(Log, LongEventsAreTruncatedNotOverflowed) {
    TempLog tmp;
    auto sink = LogSink::open(tmp.path, LogEcho::none);
    ASSERT_TRUE(sink);
    log_event(LogLevel::error, "test.long", "v={}", std::string(5000, 'q'));
    (*sink)->drain();
    const std::string text = read_file(tmp.path);
    EXPECT_LT(text.size(), LogRecord::text_bytes_max + 80);
    EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace vmx
