// The stream layer: a vmx::Service for one listener that hands its protocol adapter plaintext,
// whether the connection is plain, implicit TLS (465, 995) or upgraded by STARTTLS (25, 587, STLS).
// One StreamService per shard per listener; one Stream and one StreamHandler per connection; all
// touched by the shard thread only.
// Invariants: input the handler has not consumed is kept (bounded) and offered again with the next
// bytes; start_tls() discards every plaintext byte received before the handshake that the handler
// had not consumed when it called start_tls() (RFC 3207's injection defence); nothing is ever
// encrypted that the connection's send queue would refuse.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/connection.h"
#include "core/result.h"
#include "core/service.h"
#include "net/tls/tls_context_slot.h"
#include "net/tls/tls_session.h"

namespace vmx::net {

class Stream;

enum class TlsMode : std::uint8_t {
    none,      // plain only; start_tls() is refused
    implicit,  // TLS from the first byte (465, 995)
    starttls,  // plain until the handler calls start_tls() (25, 587, POP3 STLS)
};

// What a protocol adapter implements. One object per connection: it is the connection's state.
class StreamHandler {
public:
    virtual ~StreamHandler() = default;
    // The TCP connection is open. With implicit TLS the handshake has not run yet: what is sent
    // here (a greeting) is held and goes out, encrypted, once it completes.
    virtual void on_open(Stream&) {}
    // Plaintext from the peer. Return how many bytes were consumed; the rest is kept and offered
    // again, in front of the next bytes (at most StreamOptions::unconsumed_bytes_max is kept).
    virtual std::size_t on_data(Stream&, std::string_view plain) = 0;
    // The handshake finished (implicit TLS or after start_tls()). RFC 3207: reset protocol state.
    virtual void on_tls_started(Stream&, const TlsInfo&) {}
    // The handshake failed; the layer closes the connection after the alert is sent.
    virtual void on_tls_failed(Stream&, std::error_code) {}
    // The send queue fell below half its limit after the handler asked with want_writable().
    virtual void on_writable(Stream&) {}
    // The peer closed (TLS close_notify or TCP end of stream). Default: close after the queue.
    virtual void on_peer_closed(Stream& s);
    // Idle or session timeout (the shard's); during a handshake too. The shard closes afterwards.
    virtual void on_timeout(Stream&, TimeoutKind) {}
    // The shard is stopping: say goodbye at the next turn of the protocol.
    virtual void on_drain(Stream&) {}
    // Last call; the Stream and this handler are destroyed right after.
    virtual void on_close(Stream&) {}
};

using StreamHandlerFactory = std::function<std::unique_ptr<StreamHandler>(Stream&)>;

struct StreamOptions {
    TlsMode tls_mode = TlsMode::none;
    std::shared_ptr<const TlsServerContext> tls;    // required unless tls_mode is none (or a slot is set)
    // When set, each new session takes the slot's current context instead of `tls` (SIGHUP reload).
    std::shared_ptr<const TlsServerContextSlot> tls_slot;
    std::size_t unconsumed_bytes_max = 65536;       // input kept for the handler; past it: close
    std::size_t held_bytes_max = 65536;             // sends waiting for the handshake; past it: refused
};

// Counters of one StreamService (one shard, one listener): the shard thread writes them, other
// threads (metrics) read them with relaxed loads.
struct StreamStats {
    std::atomic<std::uint64_t> handshakes{0};
    std::atomic<std::uint64_t> handshake_failures{0};
    std::atomic<std::uint64_t> resumed{0};
    std::atomic<std::uint64_t> protocol_errors{0};       // a record failed after the handshake
    std::atomic<std::uint64_t> unconsumed_overflows{0};  // handler kept more than unconsumed_bytes_max
    std::atomic<std::uint64_t> starttls_bytes_discarded{0};
    std::atomic<std::uint64_t> open{0};                  // streams open now

    // One writer: a relaxed load and store, no locked instruction on the shard's path.
    static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

class StreamService;

// The handler's handle on its connection.
class Stream final : public ConnectionContext {
public:
    Stream(StreamService& service, Connection& connection);
    ~Stream() override;

    // Sends plaintext (encrypted when TLS is on). Fails with CoreErrc::send_queue_full when the
    // queue would pass twice its limit (nothing is sent then), NetErrc::tls_buffer_full when
    // more than held_bytes_max waits for a handshake, CoreErrc::closed when closing or after the
    // peer's close_notify. Send at most send_queue_bytes_max per call.
    Result<void> send(std::string_view plain);
    // True once the send queue is at its limit: a streaming sender stops, calls want_writable(),
    // and continues in on_writable().
    bool send_queue_full() const noexcept;
    void want_writable() noexcept { connection_.want_writable(); }
    // Starts the server side of a TLS handshake on this connection (STARTTLS). Everything queued
    // with send() before goes out in plain first. The rest of the plaintext the handler was given
    // and did not consume is discarded; so is anything kept unconsumed. Errors: tls_unavailable.
    Result<void> start_tls();
    // after_flush with TLS on sends close_notify first.
    void close(CloseMode mode);
    // Offers the kept unconsumed input to on_data again (after the handler was waiting, e.g. for
    // the store). Safe to call from inside a handler call: it then runs when that call returns.
    void redeliver();

    bool tls_active() const noexcept { return tls_ != nullptr; }
    bool tls_ready() const noexcept { return tls_ && tls_->handshake_done(); }
    const std::optional<TlsInfo>& tls_info() const noexcept { return info_; }
    SocketAddress peer() const { return connection_.peer(); }
    Connection& connection() noexcept { return connection_; }
    bool closing() const noexcept { return connection_.closing(); }
    // Memory this stream holds beyond its fixed size (for the idle-session measurement).
    std::size_t buffer_bytes() const noexcept;

private:
    friend class StreamService;
    void on_bytes(std::string_view bytes);
    void on_ciphertext(std::string_view bytes);
    void deliver_plain(std::string_view bytes);
    void offer(std::string_view bytes);
    void handshake_finished();
    bool flush_tls();

    StreamService& service_;
    Connection& connection_;
    std::unique_ptr<StreamHandler> handler_;
    std::shared_ptr<const TlsServerContext> tls_context_;  // what tls_ was made from, kept while it lives
    std::unique_ptr<TlsSession> tls_;
    std::optional<TlsInfo> info_;
    std::string unconsumed_;      // plaintext the handler has not consumed yet
    std::string held_;            // plaintext sent before the handshake finished
    std::uint32_t tls_epoch_ = 0;  // bumped by start_tls(): input of an older epoch is dropped
    bool delivering_ = false;
    bool redeliver_ = false;
};

class StreamService final : public Service {
public:
    StreamService(StreamOptions options, StreamHandlerFactory factory);

    void on_open(Connection& c) override;
    void on_data(Connection& c, std::string_view bytes) override;
    void on_peer_closed(Connection& c) override;
    void on_writable(Connection& c) override;
    void on_timeout(Connection& c, TimeoutKind kind) override;
    void on_drain(Connection& c) override;
    void on_close(Connection& c) override;

    const StreamOptions& options() const noexcept { return options_; }
    // The context a new TLS session starts with: the slot's current one, or options().tls.
    std::shared_ptr<const TlsServerContext> server_context() const;
    const StreamStats& stats() const noexcept { return stats_; }

private:
    friend class Stream;
    static Stream* stream_of(Connection& c) noexcept;

    StreamOptions options_;
    StreamHandlerFactory factory_;
    StreamStats stats_;
    std::string plain_;  // decrypted bytes of one on_data, reused across connections
};

// A listener's ServiceFactory: one StreamService per shard, sharing the TLS context.
ServiceFactory stream_service_factory(StreamOptions options, StreamHandlerFactory factory);

}  // namespace vmx::net
