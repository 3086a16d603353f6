// One outbound SMTP connection: the pure client engine (net/smtp/client.h) driven over a shard
// connection, with the TLS client (net/tls) switched on after STARTTLS. It owns no policy: it tells
// its SessionEvents (the delivery agent) what happened and is told what to send. Shard thread only.
// Invariants: after the engine's start_tls nothing received earlier is read (the bytes waiting are
// dropped, CVE-2021-38371); every event reaches the agent at most once per session, and
// session_ended exactly once, last.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/connection.h"
#include "core/service.h"
#include "net/smtp/client.h"
#include "net/tls/tls_session.h"

namespace vmx {

// How a session ended, for the agent's choice of what comes next.
struct SessionEnd {
    bool connected = false;              // the TCP connection was made
    bool greeted = false;                // the engine became ready at least once
    bool tls_failed = false;             // the handshake failed (under `may`: retry in plaintext)
    std::optional<smtp::Reply> failure;  // why the session failed; empty after a clean QUIT
};

class SessionEvents {
public:
    virtual ~SessionEvents() = default;
    // The engine is ready for a message (after the greeting, EHLO and STARTTLS; after each message).
    virtual void session_ready(std::uint64_t session) = 0;
    // The server's reply moved the session on (any reply: a slow server is not a dead one).
    virtual void session_progress(std::uint64_t session) = 0;
    // The outcome of the message given with send().
    virtual void message_done(std::uint64_t session, smtp::MessageOutcome&& outcome) = 0;
    // Last call for this session; the connection is closing.
    virtual void session_ended(std::uint64_t session, const SessionEnd& end) = 0;
};

class OutboundSession final : public ConnectionContext {
public:
    OutboundSession(SessionEvents& events, std::uint64_t id, const smtp::ClientLimits& limits, smtp::ClientOptions options,
                    std::shared_ptr<const net::TlsClientContext> tls, std::string tls_server_name);

    std::uint64_t id() const noexcept { return id_; }
    bool ready() const noexcept { return client_.ready(); }
    bool tls_active() const noexcept { return tls_ && tls_->handshake_done(); }
    std::optional<net::TlsInfo> tls_info() const;
    const smtp::Extensions& extensions() const noexcept { return client_.extensions(); }

    // Only when ready(): the engine copies the message (dot-stuffed) before it returns.
    void send(Connection& c, const smtp::OutboundMessage& message);
    // No more messages: QUIT and close.
    void quit(Connection& c);
    // The agent gives up on the session (a reply took too long, the shard is stopping).
    void abort(Connection& c, smtp::Abort why);

    // From the outbound service (the connection's events).
    void on_open(Connection& c);
    void on_data(Connection& c, std::string_view bytes);
    void on_peer_closed(Connection& c);
    void on_writable(Connection& c);
    void on_connect_failed(std::error_code error);
    void on_close();

private:
    void run_client(Connection& c);
    void act(Connection& c, smtp::ClientEffects& effects);
    bool write(Connection& c, std::string_view plain);
    bool flush_pending(Connection& c);
    bool flush_tls(Connection& c);
    void start_tls(Connection& c);
    void fail_tls(Connection& c);

    SessionEvents& events_;
    const std::uint64_t id_;
    smtp::Client client_;
    std::shared_ptr<const net::TlsClientContext> tls_context_;
    std::string tls_server_name_;
    std::unique_ptr<net::TlsSession> tls_;
    std::string input_;  // plaintext the engine has not consumed (at most one partial reply line)
    std::string plain_;  // decrypted bytes of one on_data
    std::string pending_;  // plaintext not yet handed to the connection (a body larger than its queue)
    SessionEnd end_;
    bool ended_ = false;
    bool ready_told_ = false;  // session_ready sent since the last send()
    bool pending_secret_ = false;  // pending_ has held an AUTH line: wipe it before its memory is freed
};

// The shard's service for outbound connections (Shard::add_service): hands each connection's
// events to its OutboundSession, the connection's context.
class OutboundService final : public Service {
public:
    void on_open(Connection& c) override;
    void on_data(Connection& c, std::string_view bytes) override;
    void on_peer_closed(Connection& c) override;
    void on_writable(Connection& c) override;
    void on_timeout(Connection& c, TimeoutKind kind) override;
    void on_drain(Connection& c) override;
    void on_connect_failed(Connection& c, std::error_code error) override;
    void on_close(Connection& c) override;
};

}  // namespace vmx
