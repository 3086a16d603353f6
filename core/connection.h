// Connection: one TCP connection (accepted, or opened by Shard::connect), living in a slot of its shard's fixed table. Touched by
// the shard thread only. Its id (slot + generation) stays unique across slot reuse, so a late
// completion or message for a closed connection is recognised and dropped.
#pragma once

#include <linux/time_types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/socket_address.h"

namespace vmx {

class Shard;
struct OutChunk;

struct ConnectionId {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
    friend bool operator==(ConnectionId, ConnectionId) = default;
};

enum class CloseMode : std::uint8_t {
    after_flush,  // send what is queued, then close (a protocol's goodbye)
    now,          // drop what is queued and close (a broken or hostile peer)
};

// State a service keeps per connection; destroyed when the connection is reaped.
struct ConnectionContext {
    virtual ~ConnectionContext() = default;
};

class Connection {
public:
    ConnectionId id() const noexcept { return {slot_, generation_}; }
    Shard& shard() const noexcept { return *shard_; }
    std::uint32_t listener() const noexcept { return listener_; }
    int fd() const noexcept { return fd_; }
    std::uint64_t opened_ms() const noexcept { return opened_ms_; }

    // Queues bytes for sending. Reading pauses while the queue is above the shard's limit; past
    // twice the limit the bytes are refused (send_queue_full) and the caller must stop producing.
    Result<void> send(std::string_view bytes);
    void close(CloseMode mode);
    bool closing() const noexcept { return state_ != State::open; }
    std::size_t send_queue_bytes() const noexcept { return queued_bytes_; }
    // Ask for on_writable() once the send queue drains below half its limit.
    void want_writable() noexcept { want_writable_ = true; }
    // Peer address, looked up on demand (accept does not fetch it, to keep accept cheap).
    SocketAddress peer() const;

    void set_context(std::unique_ptr<ConnectionContext> context) { context_ = std::move(context); }
    ConnectionContext* context() const noexcept { return context_.get(); }

private:
    friend class Shard;
    enum class State : std::uint8_t {
        free,
        connecting,  // Shard::connect(): the connect is in flight; becomes open or is reaped
        open,
        flushing,   // close(after_flush): sending what is left
        lingering,  // write side shut; reading to EOF so the peer gets everything before a reset
        closing,    // both sides shut; waiting for the last operation to complete
    };

    Shard* shard_ = nullptr;
    OutChunk* out_head_ = nullptr;
    OutChunk* out_tail_ = nullptr;
    std::unique_ptr<ConnectionContext> context_;
    std::string stash_;                 // bytes that raced a read pause; bounded by the socket buffer
    std::uint64_t opened_ms_ = 0;
    std::uint64_t last_activity_ms_ = 0;
    std::uint64_t linger_deadline_ms_ = 0;
    SocketAddress remote_;              // the address being connected to (the kernel reads it at submit)
    __kernel_timespec connect_timeout_{};  // the connect's linked timeout, read at submit too
    std::size_t queued_bytes_ = 0;
    int fd_ = -1;
    std::uint32_t slot_ = 0;
    std::uint32_t generation_ = 0;
    std::uint16_t listener_ = 0;
    std::uint8_t ops_in_flight_ = 0;
    State state_ = State::free;
    bool recv_armed_ = false;
    bool recv_rearm_ = false;           // re-arm the receive at the end of the batch
    bool send_in_flight_ = false;
    bool read_paused_ = false;
    bool want_writable_ = false;
    bool in_flush_list_ = false;
    bool in_reap_list_ = false;
};

}  // namespace vmx
