// Shard: one thread pinned to one core, with its own io_uring, its own listening sockets (one per
// listener, SO_REUSEPORT), its own connections, timers and buffers. Nothing here is touched by
// another thread except through the Mesh. Built in place by the Engine, never moved.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/buffer_ring.h"
#include "core/connection.h"
#include "core/engine_config.h"
#include "core/mesh.h"
#include "core/out_chunk.h"
#include "core/result.h"
#include "core/ring.h"
#include "core/service.h"
#include "core/timer_heap.h"

namespace vmx {

class LogQueue;

// Counters a shard keeps; other threads read them with relaxed loads (metrics, tests).
struct ShardStats {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> connected{0};         // outbound connections made (Shard::connect)
    std::atomic<std::uint64_t> connect_failures{0};  // ... refused, unreachable or timed out
    std::atomic<std::uint64_t> refused_full{0};      // over connections_per_shard_max
    std::atomic<std::uint64_t> closed{0};
    std::atomic<std::uint64_t> idle_timeouts{0};
    std::atomic<std::uint64_t> session_timeouts{0};
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> read_pauses{0};       // back-pressure from a slow reader
    std::atomic<std::uint64_t> send_refusals{0};     // send() past twice the queue limit
    std::atomic<std::uint64_t> recv_buffer_exhausted{0};
    std::atomic<std::uint64_t> messages_dropped{0};  // a peer inbox was full
    std::atomic<std::uint64_t> connections_live{0};
    std::atomic<std::uint64_t> send_chunks_in_use{0};
    std::atomic<std::uint64_t> loop_iterations{0};
    std::atomic<std::uint64_t> timer_entries{0};        // pending deadlines, stale ones included
};

using MessageHandler = std::function<void(Shard&, Message&)>;
using TimerCallback = std::function<void(Shard&)>;

// State the layers above keep per shard (the store lane and its environments, caches): built on the
// shard thread during setup(), before any service sees a connection, and destroyed on that thread
// after the loop has drained. Services reach it through Shard::local().
struct ShardLocal {
    virtual ~ShardLocal() = default;
};
using ShardLocalFactory = std::function<Result<std::unique_ptr<ShardLocal>>(Shard&)>;

class Shard {
public:
    Shard(std::uint32_t id, const EngineConfig& config, Mesh& mesh, std::vector<int> listen_fds,
          const std::vector<ListenerSpec>& listeners, MessageHandler on_message, LogQueue* log_queue);
    ~Shard();
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    // The thread body, in two steps: setup() creates the ring and buffers and arms the listeners
    // (it fails only when the kernel refuses them); loop() serves until a stop has drained.
    Result<void> setup();
    void loop();
    // Set by the Engine before the thread starts; setup() fails when the factory does.
    void set_local_factory(ShardLocalFactory factory) { local_factory_ = std::move(factory); }
    ShardLocal* local() const noexcept { return local_.get(); }

    std::uint32_t id() const noexcept { return id_; }
    std::uint32_t shard_count() const noexcept { return mesh_.endpoints() - 1; }
    const EngineConfig& config() const noexcept { return config_; }
    std::uint64_t now_ms() const noexcept { return now_ms_; }
    const ShardStats& stats() const noexcept { return stats_; }
    std::string ring_features() const { return ring_.describe(); }
    // Each listener's service, in the order of the engine's listener specs: built in setup()
    // (before Engine::start returns) and kept until the shard is destroyed, so other threads may
    // read its relaxed counters (metrics). Null for a listener whose setup did not run.
    std::size_t listener_count() const noexcept { return listeners_.size(); }
    const Service* listener_service(std::size_t i) const noexcept { return listeners_[i].service.get(); }

    // To another shard or to the control thread (mesh endpoint shard_count()). On failure (the
    // receiver's inbox is full) the message is left as it was.
    Result<void> send_message(std::uint32_t to, Message&& message);
    // Runs fn on this shard after delay_ms (not before; within one loop turn after).
    void schedule(std::uint64_t delay_ms, TimerCallback fn);
    // Calls fn on this shard each time fd becomes readable (a helper thread's completion eventfd,
    // such as the store lane's). fn must consume what made fd readable. Shard thread only; the fd
    // must stay open until the shard stops.
    void watch_readable(int fd, std::function<void(Shard&)> fn);
    // Outbound connections. add_service() registers a service for connections this shard opens
    // itself (during setup, from the ShardLocal factory) and returns its handle. connect() starts a
    // connection to `to` and hands it `context`: on success the service's on_open() runs (the
    // connection then behaves as an accepted one, deadlines included); when the kernel refuses or
    // timeout_ms passes, on_connect_failed() then on_close(). Fails at once (nothing is called)
    // while stopping (closed), at the connection limit (table_full), or when no socket can
    // be made (its errno).
    std::uint32_t add_service(std::unique_ptr<Service> service);
    Result<ConnectionId> connect(std::uint32_t service, const SocketAddress& to, std::uint64_t timeout_ms,
                                 std::unique_ptr<ConnectionContext> context);
    bool stopping() const noexcept { return stopping_; }
    // The connection with this id, or nullptr if it has closed since.
    Connection* find(ConnectionId id) noexcept;
    std::size_t connections_live() const noexcept { return live_; }

private:
    friend class Connection;
    enum class Op : std::uint8_t { accept = 1, recv, send, wake, watch, ignore, connect };

    struct Watch {
        int fd = -1;
        std::function<void(Shard&)> fn;
    };

    struct ListenerState {
        int fd = -1;
        bool armed = false;
        std::unique_ptr<Service> service;
    };

    static std::uint64_t pack(Op op, std::uint32_t slot, std::uint32_t generation) noexcept;

    void arm_accept(std::uint32_t listener);
    void arm_recv(Connection& c);
    void arm_wake();
    void arm_watch(std::uint32_t index);
    void issue_send(Connection& c);

    void on_completion(const io_uring_cqe& cqe);
    void on_accept(std::uint32_t listener, const io_uring_cqe& cqe);
    void on_recv(Connection* c, const io_uring_cqe& cqe);
    void on_send(Connection* c, const io_uring_cqe& cqe);
    void on_connect(Connection* c, const io_uring_cqe& cqe);
    Connection* take_slot();
    void start_connection(Connection& c);
    void on_message(Message& m);
    void on_timer(std::uint64_t token);
    void compact_timers();
    void check_connection_deadlines(Connection& c);

    void open_connection(std::uint32_t listener, int fd);
    void refuse_connection(std::uint32_t listener, int fd);
    void deliver(Connection& c, std::string_view bytes);
    void pause_reading(Connection& c);
    void resume_reading(Connection& c);
    void queue_flush(Connection& c);
    void start_close(Connection& c, CloseMode mode);
    void shut_both(Connection& c);
    void mark_for_reap(Connection& c);
    void finish_batch();
    void reap(Connection& c);
    void release_chunks(Connection& c);

    void begin_stop();
    void tick_stop();
    std::uint64_t wait_timeout_ms() const;

    Service& service_of(const Connection& c) { return *listeners_[c.listener_].service; }

    const std::uint32_t id_;
    const EngineConfig& config_;
    Mesh& mesh_;
    MessageHandler on_message_;
    LogQueue* log_queue_;
    const std::vector<ListenerSpec>& listener_specs_;
    Ring ring_;
    BufferRing buffers_;
    ChunkPool chunks_;
    TimerHeap timers_;
    std::vector<ListenerState> listeners_;
    // Slots are made on first need, up to slots_max_ (a deque keeps their addresses), so an idle
    // shard does not build and touch every slot at start; a freed slot is reused before a new one.
    std::deque<Connection> slots_;
    std::uint32_t slots_max_;
    std::vector<std::uint32_t> free_slots_;
    std::vector<Connection*> flush_list_;
    std::vector<Connection*> reap_list_;
    std::vector<Connection*> rearm_list_;
    std::vector<std::pair<std::uint64_t, TimerCallback>> callbacks_;  // by callback index
    std::vector<std::uint32_t> free_callbacks_;
    std::vector<Watch> watches_;
    ShardStats stats_;
    ShardLocalFactory local_factory_;
    std::unique_ptr<ShardLocal> local_;
    std::uint64_t now_ms_ = 0;
    std::uint64_t wake_value_ = 0;  // eventfd read target
    std::uint64_t stop_deadline_ms_ = 0;
    std::size_t live_ = 0;
    std::uint64_t refused_unlogged_ = 0;   // refusals since the last connection.refused line
    std::uint64_t refused_logged_ms_ = 0;
    bool stopping_ = false;
    bool forced_ = false;
    bool wake_armed_ = false;
};

}  // namespace vmx
