// The engine driver every SMTP handler shares (see smtp_connection.h).
#include "appliance/smtp/smtp_connection.h"

#include "core/assert.h"

namespace vmx {

void SmtpConnection::on_open(net::Stream& stream) {
    client_ = stream.peer().host();
    smtp::Effects fx;
    session_.greet(fx);  // on an implicit-TLS port the stream holds it until the handshake is done
    act(stream, fx);
}

std::size_t SmtpConnection::on_data(net::Stream& stream, std::string_view plain) {
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
    session_.on_stored(outcome, fx, queue_id);
    resume(stream, fx);
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
