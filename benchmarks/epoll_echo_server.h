// EpollEchoServer: the plain epoll loop the engine is measured against, written the way a competent
// C programmer would: N threads, each with its own SO_REUSEPORT listener and epoll instance,
// non-blocking sockets, level-triggered, one read() then one write() per ready socket, leftover
// output buffered with EPOLLOUT armed only while some is left. start()/stop() from one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "core/result.h"

namespace vmx::bench {

enum class PinThreads : std::uint8_t { no, yes };  // yes: thread i on the i-th allowed CPU, as shards

class EpollEchoServer {
public:
    EpollEchoServer();
    ~EpollEchoServer();
    EpollEchoServer(const EpollEchoServer&) = delete;
    EpollEchoServer& operator=(const EpollEchoServer&) = delete;

    // Binds 127.0.0.1:port once per thread and starts the threads.
    Result<void> start(std::uint16_t port, std::uint32_t threads, PinThreads pin);
    // Wakes every thread, joins them and closes every socket. Idempotent.
    void stop();
    // CPU time used so far by the server threads together.
    std::uint64_t cpu_ns() const;
    // Calls to epoll_wait so far, all threads together (batching: round trips per wait).
    std::uint64_t waits() const;

private:
    struct Worker;  // one thread's listener, epoll instance and connections
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    int stop_fd_ = -1;  // an eventfd in every worker's epoll set; written once to stop them all
};

}  // namespace vmx::bench
