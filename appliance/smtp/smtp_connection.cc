// The engine driver every SMTP handler shares (see smtp_connection.h).
#include "appliance/smtp/smtp_connection.h"

#include "core/assert.h"
#include "core/log.h"
#include "core/shard.h"

namespace vmx {

void SmtpConnection::on_open(net::Stream& stream) {
    stream_ = &stream;
    client_ = stream.peer().host();
    if (std::string refusal = refusal_at_connect(stream); !refusal.empty()) {
        refusal_ = std::move(refusal);
        // On an implicit-TLS port the reply can only go once the handshake is done.
        if (!stream.tls_active() || stream.tls_ready()) turn_away(stream);
        return;
    }
    if (const std::uint32_t wait_ms = greet_wait_ms(stream); wait_ms > 0) {
        // RFC 5321 4.2.1: a multi-line greeting; a real client reads to its last line before speaking.
        smtp::Effects fx;
        session_.greet(fx);
        fx.replies[3] = '-';
        greeting_pending_ = true;
        if (auto sent = stream.send(fx.replies); !sent) return stream.close(CloseMode::now);
        stream.connection().shard().schedule(wait_ms, if_alive(alive(), [this, s = &stream](Shard&) {
            finish_greeting(*s);
        }));
        return;
    }
    smtp::Effects fx;
    session_.greet(fx);  // on an implicit-TLS port the stream holds it until the handshake is done
    act(stream, fx);
}

void SmtpConnection::turn_away(net::Stream& stream) {
    (void)stream.send(refusal_);
    stream.close(CloseMode::after_flush);
}

void SmtpConnection::finish_greeting(net::Stream& stream) {
    if (!greeting_pending_ || stream.closing()) return;
    greeting_pending_ = false;
    smtp::Effects fx;
    session_.greet(fx);
    act(stream, fx);
}

std::size_t SmtpConnection::on_data(net::Stream& stream, std::string_view plain) {
    if (!refusal_.empty()) return plain.size();  // turned away: nothing it says is read
    if (greeting_pending_) {
        greeting_pending_ = false;
        log_event(LogLevel::info, "smtp.pregreet_refused", "client={}", client_);
        (void)stream.send("521 5.5.1 Error: talked before the greeting\r\n");
        stream.close(CloseMode::after_flush);
        return plain.size();
    }
    std::size_t used = 0;
    while (used < plain.size() && !session_.closed() && !waiting_) {
        smtp::Effects fx;
        const std::size_t n = session_.feed(plain.substr(used), fx);
        used += n;
        if (act(stream, fx) || n == 0) break;
    }
    return used;
}

void SmtpConnection::on_tls_started(net::Stream& stream, const net::TlsInfo&) {
    if (!refusal_.empty()) return turn_away(stream);
    smtp::Effects fx;
    session_.on_tls_started(fx);
    act(stream, fx);
}

void SmtpConnection::on_writable(net::Stream& stream) {
    if (!waiting_writable_) return;
    waiting_writable_ = false;
    stream.redeliver();
}

void SmtpConnection::on_timeout(net::Stream& stream, TimeoutKind) {
    smtp::Effects fx;
    session_.on_timeout(fx);
    act(stream, fx);
}

void SmtpConnection::login(net::Stream& stream, smtp::AuthRequest&&) {
    VMX_ASSERT(false && "AUTH reached a handler without logins");  // the MX engine never asks
    stream.close(CloseMode::now);
}

void SmtpConnection::end(net::Stream& stream, smtp::EndReason reason) {
    smtp::Effects fx;
    session_.on_end(reason, fx);
    act(stream, fx);
}

// Carries out one call's effects; true when feeding must stop for now.
bool SmtpConnection::act(net::Stream& stream, smtp::Effects& fx) {
    if (!fx.replies.empty()) {
        if (auto sent = stream.send(fx.replies); !sent) {
            stream.close(CloseMode::now);  // a client that does not read its replies
            return true;
        }
    }
    if (fx.start_tls) {
        if (auto started = stream.start_tls(); !started) stream.close(CloseMode::after_flush);
        return true;
    }
    if (fx.close) {
        stream.close(CloseMode::after_flush);
        return true;
    }
    if (fx.auth) {
        waiting_ = true;
        login(stream, std::move(*fx.auth));
        return true;
    }
    if (fx.message_ready) {
        waiting_ = true;
        data_ended_us_ = monotonic_us();
        message(stream, std::move(*fx.message_ready));
        return true;
    }
    if (stream.send_queue_full()) {
        waiting_writable_ = true;
        stream.want_writable();
        return true;
    }
    return false;
}

// After the caller's answer: its reply, then the pipelined input that waited for it.
void SmtpConnection::resume(net::Stream& stream, smtp::Effects& fx) {
    waiting_ = false;
    if (!act(stream, fx)) stream.redeliver();
}

void SmtpConnection::stored(net::Stream& stream, smtp::StoreOutcome outcome, std::string_view queue_id) {
    smtp::Effects fx;
    if (outcome == smtp::StoreOutcome::stored && data_reply_ != nullptr)
        data_reply_->observe_us(monotonic_us() - data_ended_us_);
    session_.on_stored(outcome, fx, queue_id);
    resume(stream, fx);
}

smtp::RcptDecision SmtpConnection::look_up(ShardReads* reads, RecipientSource source, const smtp::Address& rcpt,
                                           Elsewhere elsewhere, std::string_view postmaster) {
    if (reads == nullptr) {
        const smtp::RcptDecision decision = look_up_recipient(source, rcpt, elsewhere, postmaster);
        recipient_checked(decision);
        return decision;
    }
    VMX_ASSERT(stream_ != nullptr);
    const bool queued = reads->read(
        [source = std::move(source), query = RecipientQuery(rcpt), elsewhere, postmaster = std::string(postmaster)] {
            return look_up_recipient(source, query.address(), elsewhere, postmaster);
        },
        if_alive(alive(), [this, stream = stream_](smtp::RcptDecision decision) {
            recipient_checked(decision);
            smtp::Effects fx;
            session_.on_rcpt_checked(decision, fx);
            resume(*stream, fx);
        }));
    if (!queued) {
        const smtp::RcptDecision busy{smtp::RcptVerdict::temp_failure, 0};
        recipient_checked(busy);
        return busy;
    }
    waiting_ = true;
    return {smtp::RcptVerdict::pending, 0};
}

void SmtpConnection::auth_result(net::Stream& stream, smtp::AuthOutcome outcome) {
    smtp::Effects fx;
    session_.on_auth_result(outcome, fx);
    resume(stream, fx);
}

smtp::ReceivedInfo SmtpConnection::received_info(const net::Stream& stream, const smtp::Envelope& message) const {
    smtp::ReceivedInfo info;
    info.helo_name = message.helo_name;
    info.client_address = client_;
    if (message.recipients.size() == 1) info.recipient = message.recipients.front().address;
    if (const auto& tls = stream.tls_info()) {
        info.tls_version = tls->version;
        info.tls_cipher = tls->cipher;
        info.cipher_bits = static_cast<unsigned>(tls->cipher_bits);
        info.cipher_alg_bits = static_cast<unsigned>(tls->cipher_bits);
    }
    info.esmtp = message.esmtp;
    info.smtputf8 = message.smtputf8;
    return info;
}

}  // namespace vmx
