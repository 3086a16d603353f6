// One outbound SMTP connection (see outbound_session.h).
#include "appliance/delivery/outbound_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/shard.h"
#include "crypto/secret_bytes.h"

namespace vmx {
namespace {

// Plaintext handed to the connection (or the TLS layer) per step: big bodies go out in pieces as
// the send queue drains, never all at once.
constexpr std::size_t write_piece_bytes = std::size_t{64} * 1024;

OutboundSession* session_of(Connection& c) noexcept { return static_cast<OutboundSession*>(c.context()); }

}  // namespace

OutboundSession::OutboundSession(SessionEvents& events, std::uint64_t id, const smtp::ClientLimits& limits,
                                 smtp::ClientOptions options, std::shared_ptr<const net::TlsClientContext> tls,
                                 std::string tls_server_name)
    : events_(events),
      id_(id),
      client_(limits, std::move(options)),
      tls_context_(std::move(tls)),
      tls_server_name_(std::move(tls_server_name)) {}

std::optional<net::TlsInfo> OutboundSession::tls_info() const {
    if (!tls_active()) return std::nullopt;
    return tls_->info();
}

void OutboundSession::send(Connection& c, const smtp::OutboundMessage& message) {
    ready_told_ = false;
    smtp::ClientEffects effects;
    client_.send(message, effects);
    act(c, effects);
}

void OutboundSession::quit(Connection& c) {
    smtp::ClientEffects effects;
    client_.quit(effects);
    act(c, effects);
}

void OutboundSession::abort(Connection& c, smtp::Abort why) {
    if (client_.closed()) return;
    smtp::ClientEffects effects;
    client_.abort(why, effects);
    act(c, effects);
    c.close(CloseMode::now);
}

void OutboundSession::on_open(Connection&) { end_.connected = true; }

void OutboundSession::on_data(Connection& c, std::string_view bytes) {
    if (!tls_) {
        input_.append(bytes);
        return run_client(c);
    }
    const bool was_open = tls_->handshake_done();
    plain_.clear();
    auto fed = tls_->feed(bytes, plain_);
    if (!flush_tls(c)) return;
    if (!fed) {
        if (!was_open) return fail_tls(c);
        return abort(c, smtp::Abort::connection_lost);
    }
    if (!was_open && tls_->handshake_done()) {
        smtp::ClientEffects effects;
        client_.on_tls_started(effects);  // EHLO again (RFC 3207 4.2)
        act(c, effects);
    }
    input_.append(plain_);
    run_client(c);
}

// Whole reply lines to the engine; what it leaves is at most one partial line.
void OutboundSession::run_client(Connection& c) {
    while (!input_.empty() && !c.closing() && !client_.closed()) {
        smtp::ClientEffects effects;
        const std::size_t used = client_.feed(input_, effects);
        input_.erase(0, used);
        if (used > 0) events_.session_progress(id_);
        act(c, effects);
        if (used == 0) break;
    }
}

void OutboundSession::act(Connection& c, smtp::ClientEffects& effects) {
    // The engine is in its AUTH phase only after writing a credential (PLAIN's or LOGIN's base64).
    const bool secret = client_.phase() == smtp::Client::Phase::auth;
    if (secret) pending_secret_ = true;
    const bool written = effects.commands.empty() || write(c, effects.commands);
    if (secret) crypto::secure_wipe(reinterpret_cast<std::uint8_t*>(effects.commands.data()), effects.commands.size());
    if (!written) {
        effects.commands.clear();
        if (!client_.closed()) client_.abort(smtp::Abort::connection_lost, effects);
        effects.close = true;
    }
    if (effects.start_tls) {
        // Whatever the server sent after its 220 came before the handshake: never read it.
        input_.clear();
        start_tls(c);
    }
    if (effects.done) events_.message_done(id_, std::move(*effects.done));
    if (effects.session_failed) end_.failure = std::move(*effects.session_failed);
    if (effects.close) {
        if (tls_active()) {
            tls_->shutdown();
            (void)flush_tls(c);
        }
        c.close(CloseMode::after_flush);
        return;
    }
    if (client_.ready() && !ready_told_ && !c.closing()) {
        ready_told_ = true;
        end_.greeted = true;
        events_.session_ready(id_);
    }
}

bool OutboundSession::write(Connection& c, std::string_view plain) {
    pending_.append(plain);
    return flush_pending(c);
}

bool OutboundSession::flush_pending(Connection& c) {
    const std::size_t limit = c.shard().config().send_queue_bytes_max;
    std::size_t taken = 0;
    while (taken < pending_.size() && c.send_queue_bytes() < limit) {
        const std::string_view piece = std::string_view(pending_).substr(taken, write_piece_bytes);
        if (tls_) {
            if (!tls_->write(piece) || !flush_tls(c)) return false;
        } else if (!c.send(piece)) {
            return false;
        }
        taken += piece.size();
    }
    pending_.erase(0, taken);
    if (!pending_.empty()) {
        c.want_writable();
        return true;
    }
    if (pending_secret_) {  // erase() leaves the old bytes in the buffer: clear all of it
        crypto::secure_wipe(reinterpret_cast<std::uint8_t*>(pending_.data()), pending_.capacity());
        pending_secret_ = false;
    }
    std::string().swap(pending_);
    return true;
}

void OutboundSession::on_writable(Connection& c) {
    if (!flush_pending(c)) abort(c, smtp::Abort::connection_lost);
}

bool OutboundSession::flush_tls(Connection& c) {
    if (!tls_ || tls_->outgoing().empty()) return true;
    const bool sent = c.send(tls_->outgoing()).has_value();
    tls_->clear_outgoing();
    return sent;
}

void OutboundSession::start_tls(Connection& c) {
    if (!tls_context_) return fail_tls(c);
    auto session = net::TlsSession::connect(*tls_context_, tls_server_name_);
    if (!session) return fail_tls(c);
    tls_ = std::move(*session);
    if (!flush_tls(c)) abort(c, smtp::Abort::connection_lost);
}

void OutboundSession::fail_tls(Connection& c) {
    end_.tls_failed = true;
    abort(c, smtp::Abort::tls_failed);
}

void OutboundSession::on_peer_closed(Connection& c) {
    if (!client_.closed()) {
        smtp::ClientEffects effects;
        client_.abort(smtp::Abort::connection_lost, effects);
        effects.commands.clear();
        act(c, effects);
    }
    c.close(CloseMode::after_flush);
}

void OutboundSession::on_connect_failed(std::error_code error) {
    end_.failure = smtp::Reply{421, fmt::format("4.4.1 connection failed: {}", error.message()), smtp::ReplyFrom::client};
}

void OutboundSession::on_close() {
    if (ended_) return;
    ended_ = true;
    if (end_.connected && !client_.closed()) {
        // Cut without the engine's knowledge (the shard stopping, a reset): a message in flight is
        // not delivered.
        smtp::ClientEffects effects;
        client_.abort(smtp::Abort::connection_lost, effects);
        if (effects.done) events_.message_done(id_, std::move(*effects.done));
        if (effects.session_failed && !end_.failure) end_.failure = std::move(*effects.session_failed);
    }
    events_.session_ended(id_, end_);
}

// ---- the service -------------------------------------------------------------------------------

void OutboundService::on_open(Connection& c) { session_of(c)->on_open(c); }
void OutboundService::on_data(Connection& c, std::string_view bytes) { session_of(c)->on_data(c, bytes); }
void OutboundService::on_peer_closed(Connection& c) { session_of(c)->on_peer_closed(c); }
void OutboundService::on_writable(Connection& c) { session_of(c)->on_writable(c); }
void OutboundService::on_timeout(Connection& c, TimeoutKind) { session_of(c)->abort(c, smtp::Abort::timeout); }
void OutboundService::on_drain(Connection& c) {
    OutboundSession* s = session_of(c);
    if (s->ready()) s->quit(c);  // a message in flight may finish within the grace period
}
void OutboundService::on_connect_failed(Connection& c, std::error_code error) { session_of(c)->on_connect_failed(error); }
void OutboundService::on_close(Connection& c) { session_of(c)->on_close(); }

}  // namespace vmx
