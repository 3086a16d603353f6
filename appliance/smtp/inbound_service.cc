// The inbound SMTP handler (see smtp_inbound.h): engine effects turned into sends, STARTTLS, durable
// queueing and the directory look-ups of RCPT.
#include "appliance/smtp/inbound_service.h"

#include <ctime>

#include "appliance/directory/account.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/directory_view.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"
#include "core/log.h"
#include "net/smtp/received.h"

namespace vmx {
namespace {

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

class SmtpHandler final : public net::StreamHandler, private smtp::RecipientPolicy {
public:
    SmtpHandler(const SmtpInboundSettings& settings, const Directory& directory, SmtpShardParts parts)
        : settings_(settings), directory_(directory), parts_(parts),
          session_(settings.limits, settings.options, *this) {}

    void on_open(net::Stream& stream) override {
        client_ = stream.peer().host();
        smtp::Effects fx;
        session_.greet(fx);
        act(stream, fx);
    }

    std::size_t on_data(net::Stream& stream, std::string_view plain) override {
        std::size_t used = 0;
        while (used < plain.size() && !session_.closed() && !waiting_) {
            smtp::Effects fx;
            const std::size_t n = session_.feed(plain.substr(used), fx);
            used += n;
            if (act(stream, fx) || n == 0) break;
        }
        return used;
    }

    void on_tls_started(net::Stream& stream, const net::TlsInfo&) override {
        smtp::Effects fx;
        session_.on_tls_started(fx);
        act(stream, fx);
    }

    void on_writable(net::Stream& stream) override {
        if (!waiting_writable_) return;
        waiting_writable_ = false;
        stream.redeliver();
    }

    void on_timeout(net::Stream& stream, TimeoutKind) override {
        smtp::Effects fx;
        session_.on_timeout(fx);
        act(stream, fx);
    }

    void on_drain(net::Stream& stream) override {
        smtp::Effects fx;
        session_.on_drain(fx);
        act(stream, fx);
    }

    void on_close(net::Stream&) override {
        *alive_ = false;
        if (messages_ > 0 || rejected_ > 0)
            log_event(LogLevel::info, "smtp.session", "client={} messages={} rcpt_rejected={}", client_, messages_, rejected_);
    }

private:
    // Carries out one call's effects; true when feeding must stop for now.
    bool act(net::Stream& stream, smtp::Effects& fx) {
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
        if (fx.message_ready) {
            queue(stream, std::move(*fx.message_ready));
            return true;
        }
        if (fx.close) {
            stream.close(CloseMode::after_flush);
            return true;
        }
        if (stream.send_queue_full()) {
            waiting_writable_ = true;
            stream.want_writable();
            return true;
        }
        return false;
    }

    void queue(net::Stream& stream, smtp::Envelope&& message) {
        waiting_ = true;
        const std::int64_t arrival = now_unix();
        const std::optional<net::TlsInfo>& tls = stream.tls_info();
        const std::string queue_id = parts_.delivery->next_queue_id();
        smtp::ReceivedInfo info;
        info.helo_name = message.helo_name;
        info.client_address = client_;
        info.hostname = settings_.options.hostname;
        info.queue_id = queue_id;
        if (message.recipients.size() == 1) info.recipient = message.recipients.front().address;
        if (tls) {
            info.tls_version = tls->version;
            info.tls_cipher = tls->cipher;
            info.cipher_bits = static_cast<unsigned>(tls->cipher_bits);
            info.cipher_alg_bits = static_cast<unsigned>(tls->cipher_bits);
        }
        info.esmtp = message.esmtp;
        info.smtputf8 = message.smtputf8;
        info.date_unix = arrival;
        auto body = std::make_shared<std::string>(smtp::received_header(info));
        body->append(message.body);
        message.body.clear();
        message.body.shrink_to_fit();  // the session's copy is not needed twice

        store::Envelope envelope;
        envelope.sender = std::move(message.mail_from);
        envelope.arrival_unix = arrival;
        envelope.client_address = client_;
        if (tls) {
            envelope.tls_version = tls->version;
            envelope.tls_cipher = tls->cipher_iana;
        }
        for (auto& r : message.recipients) {
            store::Recipient rcpt;
            rcpt.address = std::move(r.address);
            rcpt.user_id = r.user_id;
            envelope.recipients.push_back(std::move(rcpt));
        }
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        parts_.delivery->accept(std::move(envelope), std::move(body),
                                  [this, alive, s](AcceptOutcome outcome, const std::string& id) {
                                      if (alive.expired() || !*alive.lock()) return;  // the client left meanwhile
                                      stored(*s, outcome, id);
                                  });
    }

    void stored(net::Stream& stream, AcceptOutcome outcome, const std::string& queue_id) {
        waiting_ = false;
        smtp::Effects fx;
        const smtp::StoreOutcome o = outcome == AcceptOutcome::stored ? smtp::StoreOutcome::stored
                                     : outcome == AcceptOutcome::full ? smtp::StoreOutcome::full
                                                                      : smtp::StoreOutcome::failed;
        if (outcome == AcceptOutcome::stored) ++messages_;
        session_.on_stored(o, fx, queue_id);
        if (!act(stream, fx)) stream.redeliver();  // pipelined commands that waited for the 250
    }

    smtp::RcptDecision check(const smtp::Address& rcpt) override {
        auto decision = look_up(rcpt);
        if (decision.verdict != smtp::RcptVerdict::accepted) ++rejected_;
        return decision;
    }

    smtp::RcptDecision look_up(const smtp::Address& rcpt) {
        using V = smtp::RcptVerdict;
        if (rcpt.domain.empty()) return {V::unknown_user, 0};  // a bare "postmaster" needs a postmaster@ user
        ShardStore& store = *parts_.store;
        auto view = DirectoryView::open(directory_, store.keys_snapshot());
        if (!view) return {V::temp_failure, 0};
        // The user first: a local recipient (the common case) costs one look-up; only a miss asks
        // whether the domain is ours, to tell "no such user" from "not relayed".
        auto user = view->find_user(rcpt.text);
        if (!user) {
            if (!no_such_account(user.error())) return {V::temp_failure, 0};
            auto domain = view->find_domain(rcpt.domain);
            if (domain) return {V::unknown_user, 0};
            return {no_such_account(domain.error()) ? V::not_local : V::temp_failure, 0};
        }
        if (user->state == UserState::closed) return {V::unknown_user, 0};
        if (user->quota_bytes == 0) return {V::accepted, user->id};
        auto org = view->org(user->org_id);
        if (!org) return {V::temp_failure, 0};
        view->end();
        // A full mailbox is refused now, while the sender can still be told (452 4.2.2).
        auto state = mailbox_state(store, mailbox_of(*org, user->id, store.segment_count()));
        if (!state) return {V::temp_failure, 0};
        if (state->live_bytes >= user->quota_bytes) return {V::over_quota, user->id};
        return {V::accepted, user->id};
    }

    const SmtpInboundSettings& settings_;
    const Directory& directory_;
    const SmtpShardParts parts_;
    smtp::Session session_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::string client_;
    std::uint32_t messages_ = 0;
    std::uint32_t rejected_ = 0;
    bool waiting_ = false;           // a message is with the store: nothing is fed until it reports
    bool waiting_writable_ = false;  // the send queue is full: nothing is fed until it drains
};

}  // namespace

ServiceFactory smtp_inbound_factory(const SmtpInboundSettings& settings, const Directory& directory, SmtpPartsOf parts_of) {
    net::StreamOptions options;
    options.tls_mode = settings.tls ? net::TlsMode::starttls : net::TlsMode::none;
    options.tls = settings.tls;
    const SmtpInboundSettings* s = &settings;
    const Directory* d = &directory;
    return net::stream_service_factory(options, [s, d, parts_of](net::Stream& stream) -> std::unique_ptr<net::StreamHandler> {
        return std::make_unique<SmtpHandler>(*s, *d, parts_of(stream.connection().shard()));
    });
}

}  // namespace vmx
