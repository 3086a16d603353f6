// Engine: the set of shards. The main thread builds it, binds every listener (one socket per shard
// per listener), starts one thread per shard, and later asks them to stop and joins them. The
// calling thread is the control endpoint of the Mesh: only it may call request_stop() and
// control_send().
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/engine_config.h"
#include "core/mesh.h"
#include "core/result.h"
#include "core/service.h"
#include "core/shard.h"

namespace vmx {

class LogSink;

struct BindError {
    std::string listener;   // the listener's name (its config key)
    std::string address;
    std::error_code error;
};

class Engine {
public:
    // sink may be null (events then go to the fallback queue).
    Engine(EngineConfig config, std::vector<ListenerSpec> listeners, LogSink* sink, MessageHandler on_message = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Per-shard state of the layers above, built on each shard thread at start (see ShardLocal).
    void set_shard_local(ShardLocalFactory factory) { shard_local_ = std::move(factory); }
    // Opens every listening socket; on failure names the listener that could not be bound.
    std::optional<BindError> bind();
    // Before bind(): serve listener `index` on a socket already bound and listening (systemd's
    // socket activation). Every shard accepts from it (one queue, no SO_REUSEPORT); the engine owns it.
    void adopt(std::size_t index, int fd);
    // Starts the shard threads and waits until each has set up its ring (or failed to).
    Result<void> start();
    // Asks every shard to stop accepting and drain (the grace period comes from the config).
    void request_stop();
    // True once request_stop() ran: shards may then tear down what they keep (control thread).
    bool stop_requested() const noexcept { return stop_requested_; }
    // True once every shard thread has returned from its loop.
    bool stopped() const noexcept { return running_.load(std::memory_order_acquire) == 0; }
    // Waits for every shard thread.
    void join();

    std::uint32_t shard_count() const noexcept { return config_.shards; }
    const EngineConfig& config() const noexcept { return config_; }
    Mesh& mesh() noexcept { return *mesh_; }
    Shard& shard(std::uint32_t i) noexcept { return *shards_[i]; }
    Result<void> control_send(std::uint32_t to, Message&& m) { return mesh_->send(mesh_->control_endpoint(), to, std::move(m)); }
    // An eventfd that is written each time a shard thread exits (the control loop polls it).
    int exit_fd() const noexcept { return exit_fd_; }
    // CPU time used so far by all shard threads together (benchmarks, metrics).
    std::uint64_t shard_cpu_ns() const;

private:
    EngineConfig config_;
    std::vector<ListenerSpec> listeners_;
    LogSink* sink_;
    MessageHandler on_message_;
    ShardLocalFactory shard_local_;
    std::unique_ptr<Mesh> mesh_;
    std::vector<std::vector<int>> listen_fds_;   // [shard][listener]
    std::vector<int> adopted_;                   // [listener]: a passed socket, or -1
    std::vector<std::unique_ptr<Shard>> shards_;
    std::vector<std::thread> threads_;
    std::atomic<std::uint32_t> running_{0};
    bool stop_requested_ = false;
    int exit_fd_ = -1;
};

// Number of shards when the config says 0: one per online CPU.
std::uint32_t default_shard_count() noexcept;

}  // namespace vmx
