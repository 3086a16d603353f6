// The stream layer: routes each connection's bytes through its TlsSession when TLS is on, keeps the
// handler's unconsumed input, holds sends until a handshake finishes, and carries back-pressure
// from the connection's send queue to the handler. Shard thread only.
#include "net/stream/stream.h"

#include <algorithm>
#include <limits>

#include "core/errc.h"
#include "core/shard.h"
#include "net/errc.h"

namespace vmx::net {
namespace {

constexpr std::size_t discarded = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kept_capacity_max = 4096;  // larger idle buffers are given back

void release_if_large(std::string& s) {
    if (s.empty() && s.capacity() > kept_capacity_max) std::string().swap(s);
}

}  // namespace

void StreamHandler::on_peer_closed(Stream& s) { s.close(CloseMode::after_flush); }

// ---------------------------------------------------------------- Stream: sending

Stream::Stream(StreamService& service, Connection& connection) : service_(service), connection_(connection) {
    StreamStats::add(service_.stats_.open);
}

Stream::~Stream() { service_.stats_.open.store(service_.stats_.open.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed); }

bool Stream::send_queue_full() const noexcept {
    return connection_.send_queue_bytes() >= connection_.shard().config().send_queue_bytes_max;
}

Result<void> Stream::send(std::string_view plain) {
    if (closing()) return fail(CoreErrc::closed);
    if (!tls_) return connection_.send(plain);
    if (!tls_->handshake_done()) {
        if (held_.size() + plain.size() > service_.options_.held_bytes_max) return fail(NetErrc::tls_buffer_full);
        held_.append(plain);
        return {};
    }
    if (tls_->state() != TlsState::open) return fail(CoreErrc::closed);  // the peer's close_notify came
    // Once encrypted a record must be sent (sequence numbers have moved), so check the room first.
    const std::size_t limit = connection_.shard().config().send_queue_bytes_max;
    if (connection_.send_queue_bytes() + tls_ciphertext_bytes_max(plain.size()) > 2 * limit)
        return fail(CoreErrc::send_queue_full);
    auto r = tls_->write(plain);
    if (!flush_tls()) return fail(CoreErrc::closed);
    if (!r) {
        StreamStats::add(service_.stats_.protocol_errors);
        connection_.close(CloseMode::now);
    }
    return r;
}

// Moves what the last wolfSSL call produced onto the connection. False when the connection refused
// it (closing, or a queue overrun that only a broken peer causes): the connection is then cut.
bool Stream::flush_tls() {
    const std::string_view out = tls_->outgoing();
    if (out.empty()) return true;
    auto r = connection_.send(out);
    tls_->clear_outgoing();
    if (r) return true;
    connection_.close(CloseMode::now);
    return false;
}

Result<void> Stream::start_tls() {
    const StreamOptions& o = service_.options_;
    auto context = service_.server_context();
    if (o.tls_mode == TlsMode::none || !context || tls_ || closing()) return fail(NetErrc::tls_unavailable);
    auto session = TlsSession::accept(*context);
    if (!session) return fail(session.error());
    tls_context_ = std::move(context);
    tls_ = std::move(*session);
    ++tls_epoch_;
    StreamStats::add(service_.stats_.starttls_bytes_discarded, unconsumed_.size());
    unconsumed_.clear();
    release_if_large(unconsumed_);
    return {};
}

void Stream::close(CloseMode mode) {
    if (closing()) return;
    // Our close_notify goes out after the peer's too: TLS 1.3 and 1.2 both expect one each way.
    if (mode == CloseMode::after_flush && tls_ && tls_->handshake_done()) {
        tls_->shutdown();
        if (!flush_tls()) return;
    }
    connection_.close(mode);
}

std::size_t Stream::buffer_bytes() const noexcept {
    return unconsumed_.capacity() + held_.capacity() + (tls_ ? tls_->buffer_bytes() : 0);
}

// ---------------------------------------------------------------- Stream: receiving

void Stream::on_bytes(std::string_view bytes) {
    if (tls_) {
        on_ciphertext(bytes);
    } else {
        deliver_plain(bytes);
    }
}

void Stream::on_ciphertext(std::string_view bytes) {
    std::string& plain = service_.plain_;
    plain.clear();
    const bool was_done = tls_->handshake_done();
    auto r = tls_->feed(bytes, plain);
    if (!flush_tls()) return;
    if (!r) {
        if (!was_done) {
            StreamStats::add(service_.stats_.handshake_failures);
            handler_->on_tls_failed(*this, r.error());
        } else {
            StreamStats::add(service_.stats_.protocol_errors);
        }
        connection_.close(CloseMode::after_flush);  // the alert wolfSSL queued goes out first
        return;
    }
    if (!was_done && tls_->handshake_done()) handshake_finished();
    if (!plain.empty()) deliver_plain(plain);
    if (tls_ && tls_->state() == TlsState::peer_closed && !closing()) handler_->on_peer_closed(*this);
}

void Stream::handshake_finished() {
    StreamStats::add(service_.stats_.handshakes);
    info_ = tls_->info();
    if (info_->resumed) StreamStats::add(service_.stats_.resumed);
    if (!held_.empty()) {
        std::string held;
        held.swap(held_);
        if (!send(held)) return;
    }
    handler_->on_tls_started(*this, *info_);
}

void Stream::deliver_plain(std::string_view bytes) {
    if (closing()) return;
    if (unconsumed_.empty()) {
        offer(bytes);
    } else {
        if (unconsumed_.size() + bytes.size() > service_.options_.unconsumed_bytes_max) {
            StreamStats::add(service_.stats_.unconsumed_overflows);
            connection_.close(CloseMode::after_flush);
            return;
        }
        unconsumed_.append(bytes);
        redeliver_ = true;
    }
    // Kept input is offered again while the handler asks for it (or new bytes were appended).
    while (redeliver_ && !delivering_ && !unconsumed_.empty() && !closing()) {
        redeliver_ = false;
        std::string kept;
        kept.swap(unconsumed_);  // the handler may call start_tls(), which must not cut this view
        offer(kept);
    }
}

void Stream::redeliver() {
    redeliver_ = true;
    if (!delivering_) deliver_plain({});
}

// Gives `data` to the handler until it consumes all or stops; keeps the rest. After start_tls() or
// a close inside the handler the rest is dropped.
void Stream::offer(std::string_view data) {
    const std::uint32_t epoch = tls_epoch_;
    std::size_t used = 0;
    delivering_ = true;
    while (used < data.size()) {
        const std::size_t n = std::min(handler_->on_data(*this, data.substr(used)), data.size() - used);
        used += n;
        if (tls_epoch_ != epoch || closing()) {
            if (tls_epoch_ != epoch) StreamStats::add(service_.stats_.starttls_bytes_discarded, data.size() - used);
            used = discarded;
            break;
        }
        if (n == 0) break;
    }
    delivering_ = false;
    if (used == discarded || used == data.size()) {
        release_if_large(unconsumed_);
        return;
    }
    const std::string_view rest = data.substr(used);
    if (rest.size() > service_.options_.unconsumed_bytes_max) {
        StreamStats::add(service_.stats_.unconsumed_overflows);
        connection_.close(CloseMode::after_flush);
        return;
    }
    unconsumed_.assign(rest);
}

// ---------------------------------------------------------------- StreamService

StreamService::StreamService(StreamOptions options, StreamHandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {
    VMX_ASSERT(options_.tls_mode == TlsMode::none || options_.tls || options_.tls_slot);
}

std::shared_ptr<const TlsServerContext> StreamService::server_context() const {
    return options_.tls_slot ? options_.tls_slot->current() : options_.tls;
}

Stream* StreamService::stream_of(Connection& c) noexcept { return static_cast<Stream*>(c.context()); }

void StreamService::on_open(Connection& c) {
    auto owned = std::make_unique<Stream>(*this, c);
    Stream& s = *owned;
    c.set_context(std::move(owned));
    if (options_.tls_mode == TlsMode::implicit) {
        auto context = server_context();
        auto session = TlsSession::accept(*context);
        if (!session) {
            c.close(CloseMode::now);
            return;
        }
        s.tls_context_ = std::move(context);
        s.tls_ = std::move(*session);
    }
    s.handler_ = factory_(s);
    if (!s.handler_) {
        c.close(CloseMode::now);
        return;
    }
    s.handler_->on_open(s);
}

void StreamService::on_data(Connection& c, std::string_view bytes) {
    Stream* s = stream_of(c);
    if (s && s->handler_) s->on_bytes(bytes);
}

void StreamService::on_peer_closed(Connection& c) {
    Stream* s = stream_of(c);
    if (s && s->handler_) {
        s->handler_->on_peer_closed(*s);
    } else {
        c.close(CloseMode::after_flush);
    }
}

void StreamService::on_writable(Connection& c) {
    if (Stream* s = stream_of(c); s && s->handler_) s->handler_->on_writable(*s);
}

void StreamService::on_timeout(Connection& c, TimeoutKind kind) {
    if (Stream* s = stream_of(c); s && s->handler_) s->handler_->on_timeout(*s, kind);
}

void StreamService::on_drain(Connection& c) {
    if (Stream* s = stream_of(c); s && s->handler_) s->handler_->on_drain(*s);
}

void StreamService::on_close(Connection& c) {
    if (Stream* s = stream_of(c); s && s->handler_) s->handler_->on_close(*s);
}

ServiceFactory stream_service_factory(StreamOptions options, StreamHandlerFactory factory) {
    return [options = std::move(options), factory = std::move(factory)](Shard&) {
        return std::make_unique<StreamService>(options, factory);
    };
}

}  // namespace vmx::net
