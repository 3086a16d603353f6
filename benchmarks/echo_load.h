// EchoLoad: the closed-loop client of the echo benchmark, the same for every server. T threads,
// each with its own epoll loop over its share of the connections; every connection sends one
// message, waits for all of it to come back, counts a round trip and sends again. start()/stop()
// and the readers are called from one thread (the harness); the counters are relaxed atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "core/result.h"

namespace vmx::bench {

struct LoadSpec {
    std::uint16_t port = 0;            // on 127.0.0.1
    std::uint32_t threads = 1;
    std::uint32_t connections = 64;    // spread over the threads
    std::uint32_t message_bytes = 64;
};

class EchoLoad {
public:
    EchoLoad();
    ~EchoLoad();
    EchoLoad(const EchoLoad&) = delete;
    EchoLoad& operator=(const EchoLoad&) = delete;

    // Connects every connection, then lets the threads start their ping-pong.
    Result<void> start(const LoadSpec& spec);
    void stop();  // idempotent
    std::uint64_t round_trips() const;
    // Connections that failed (reset, short read) since start; a healthy run has none.
    std::uint64_t failures() const;
    std::uint64_t cpu_ns() const;

private:
    struct Worker;  // one client thread and its connections
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    int stop_fd_ = -1;  // eventfd in every worker's epoll set
};

}  // namespace vmx::bench
