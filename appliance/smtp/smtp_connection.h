// SmtpConnection: what every SMTP listener's handler does with the pure engine (net/smtp): feed it
// the stream's bytes, carry out its effects (replies, STARTTLS, close, back-pressure), hold input
// while a message, a login or a recipient's look-up is with the caller, and resume after the answer. The MX and the
// submission handlers derive from it and add what they do with a message and a login. One per
// connection, on its shard's thread. Deferred callbacks check alive() before touching it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "appliance/common/counters.h"
#include "appliance/mailstore/store_readers.h"
#include "appliance/smtp/recipients.h"
#include "core/duration_histogram.h"
#include "net/smtp/received.h"
#include "net/smtp/session.h"
#include "net/stream/stream.h"

namespace vmx {

// Seconds from the end of DATA to the reply that accepts the message (its writes durable), per
// shard and kind of listener: the shard writes, the metrics endpoint reads (relaxed).
struct SmtpTimings {
    DurationHistogram mx_data_reply;
    DurationHistogram submission_data_reply;
    void list(CounterSnapshot& out) const {
        out.add("smtp.mx.data_reply", mx_data_reply);
        out.add("smtp.submission.data_reply", submission_data_reply);
    }
};

class SmtpConnection : public net::StreamHandler, protected smtp::RecipientPolicy {
public:
    // limits and options must outlive the connection (the listener's settings).
    SmtpConnection(const smtp::Limits& limits, const smtp::Options& options, smtp::SenderPolicy* senders = nullptr)
        : session_(limits, options, *this, senders) {}

    void on_open(net::Stream& stream) override;
    std::size_t on_data(net::Stream& stream, std::string_view plain) final;
    void on_tls_started(net::Stream& stream, const net::TlsInfo&) override;
    void on_writable(net::Stream& stream) final;
    void on_timeout(net::Stream& stream, TimeoutKind) final;
    void on_drain(net::Stream& stream) final { end(stream, smtp::EndReason::draining); }
    void on_close(net::Stream&) override { *alive_ = false; }

protected:
    // At connect: a reply that turns the client away (then closed), or empty to serve it.
    virtual std::string refusal_at_connect(net::Stream&) { return {}; }
    // At connect: how long the "220 " line waits after a first "220-" line; a client that talks
    // before it is refused (postscreen's pregreet test). 0: greet at once.
    virtual std::uint32_t greet_wait_ms(net::Stream&) { return 0; }
    // The engine handed over a message: store it durably, then call stored().
    virtual void message(net::Stream& stream, smtp::Envelope&& message) = 0;
    // The engine asks for a login (submission): check it, then call auth_result().
    virtual void login(net::Stream& stream, smtp::AuthRequest&& request);

    // RCPT's look-up (check() returns what this returns): at once on this shard, or, with `reads` (a
    // store shared by nodes), on a store reader while the engine waits for the verdict; a temporary
    // failure when the readers are saturated. Every verdict goes through recipient_checked() first.
    smtp::RcptDecision look_up(ShardReads* reads, RecipientSource source, const smtp::Address& rcpt, Elsewhere elsewhere,
                               std::string_view postmaster);
    virtual void recipient_checked(const smtp::RcptDecision&) {}

    void stored(net::Stream& stream, smtp::StoreOutcome outcome, std::string_view queue_id = {});
    void auth_result(net::Stream& stream, smtp::AuthOutcome outcome);
    // Ends the session: 421 now between commands, else after the current reply.
    void end(net::Stream& stream, smtp::EndReason reason);

    // A flag that turns false when the connection closes: deferred work holds a weak_ptr to it.
    std::weak_ptr<bool> alive() const { return alive_; }
    // The Received: fields every handler fills alike (TLS details from the stream).
    smtp::ReceivedInfo received_info(const net::Stream& stream, const smtp::Envelope& message) const;

    smtp::Session session_;
    std::string client_;  // the peer's address, as text
    DurationHistogram* data_reply_ = nullptr;  // where an accepted message's wait is observed; null: nowhere

private:
    bool act(net::Stream& stream, smtp::Effects& fx);
    void resume(net::Stream& stream, smtp::Effects& fx);
    void finish_greeting(net::Stream& stream);
    void turn_away(net::Stream& stream);

    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    net::Stream* stream_ = nullptr;  // set at on_open: where a later verdict resumes
    bool waiting_ = false;           // a message, login or look-up is with the caller: nothing is fed until it answers
    bool waiting_writable_ = false;  // the send queue is full: nothing is fed until it drains
    bool greeting_pending_ = false;  // "220-" sent, "220 " not yet: any input is a protocol error
    std::string refusal_;            // refusal_at_connect's reply: the connection is turned away
    std::uint64_t data_ended_us_ = 0;  // when the engine handed over the message now with the caller
};

// Runs fn() later only if the connection behind `alive` is still open.
template <class Fn>
auto if_alive(std::weak_ptr<bool> alive, Fn fn) {
    return [alive = std::move(alive), fn = std::move(fn)](auto&&... args) mutable {
        if (auto a = alive.lock(); a && *a) fn(std::forward<decltype(args)>(args)...);
    };
}

}  // namespace vmx
