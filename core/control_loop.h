// ControlLoop: the control thread's wait loop. It turns SIGTERM/SIGINT into a drain of every
// shard and SIGHUP into a reload, drains the shards' log queues, hands messages addressed to the control endpoint to a
// handler, and lets the layers above watch more descriptors (the admin socket). It runs until
// every shard thread has returned. Only the thread that owns the Engine calls it.
#pragma once

#include <functional>
#include <vector>

#include "core/engine.h"
#include "core/message.h"

namespace vmx {

class LogSink;

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every thread it starts) so
// that only the control loop's signalfd sees them, and ignores SIGPIPE. Call before Engine::start.
void block_control_signals();

class ControlLoop {
public:
    ControlLoop(Engine& engine, LogSink* sink);
    ~ControlLoop();
    ControlLoop(const ControlLoop&) = delete;
    ControlLoop& operator=(const ControlLoop&) = delete;

    void watch(int fd, std::function<void()> on_readable);
    void on_message(std::function<void(Message&)> handler) { on_message_ = std::move(handler); }
    void on_tick(std::function<void()> handler) { on_tick_ = std::move(handler); }
    // SIGHUP: reload what can be reloaded without a restart (on the control thread).
    void on_reload(std::function<void()> handler) { on_reload_ = std::move(handler); }

    // Serves until every shard has stopped; returns the signal that started the stop (0 if none).
    int run();
    // Starts the drain as a signal would.
    void stop();

private:
    void drain_messages();

    Engine& engine_;
    LogSink* sink_;
    int signal_fd_ = -1;
    bool stopping_ = false;
    int stop_signal_ = 0;
    std::vector<std::pair<int, std::function<void()>>> watched_;
    std::function<void(Message&)> on_message_;
    std::function<void()> on_tick_;
    std::function<void()> on_reload_;
};

}  // namespace vmx
