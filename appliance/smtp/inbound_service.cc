// The inbound SMTP handler (see inbound_service.h): durable queueing through local delivery and the
// directory look-ups of RCPT; the engine itself is driven by SmtpConnection.
#include "appliance/smtp/inbound_service.h"

#include <cstdint>
#include <optional>
#include <utility>

#include "appliance/delivery/local_delivery.h"
#include "appliance/mailauth/mailauth_workers.h"
#include "appliance/smtp/queue_message.h"
#include "appliance/smtp/recipients.h"
#include "appliance/smtp/smtp_connection.h"
#include "core/clock.h"
#include "core/log.h"
#include "net/mailauth/auth_results.h"

namespace vmx {
namespace {

// ClientLimits counts in signed milliseconds (window arithmetic subtracts); the clock is far from 2^63.
std::int64_t now_ms() noexcept { return static_cast<std::int64_t>(monotonic_ms()); }

class SmtpHandler final : public SmtpConnection {
public:
    SmtpHandler(const SmtpInboundSettings& settings, const Directory& directory, SmtpShardParts parts)
        : SmtpConnection(settings.limits, settings.options), settings_(settings), directory_(directory), parts_(parts) {
        if (parts_.timings != nullptr) data_reply_ = &parts_.timings->mx_data_reply;
    }

    void on_close(net::Stream& stream) override {
        SmtpConnection::on_close(stream);
        if (admitted_) settings_.client_limits->disconnect(client_);
        if (messages_ > 0 || rejected_ > 0 || rejected_messages_ > 0)
            log_event(LogLevel::info, "smtp.session", "client={} messages={} rcpt_rejected={} refused={}", client_,
                      messages_, rejected_, rejected_messages_);
    }

private:
    // Per-address limits (anvil): too many open or new connections are turned away before the
    // greeting; exempt networks are neither counted nor made to wait.
    std::string refusal_at_connect(net::Stream& stream) override {
        if (settings_.client_limits == nullptr) return {};
        exempt_ = settings_.client_limits->exempt(stream.peer());
        if (exempt_) return {};
        const Admission admission = settings_.client_limits->connect(client_, now_ms());
        if (admission == Admission::admitted) {
            admitted_ = true;
            return {};
        }
        const bool too_many = admission == Admission::too_many_connections;
        log_event(LogLevel::info, "smtp.client_limited", "client={} limit={}", client_,
                  too_many ? "connections" : "connection_rate");
        return "421 4.7.0 " + settings_.options.hostname +
               (too_many ? " Error: too many connections from your address\r\n"
                         : " Error: too many connections from your address this minute, try again later\r\n");
    }

    std::uint32_t greet_wait_ms(net::Stream&) override {
        return settings_.client_limits == nullptr || exempt_ ? 0 : settings_.greet_wait_ms;
    }

    bool limited() const noexcept { return settings_.client_limits != nullptr && !exempt_; }

    bool mail_allowed() override {
        if (!limited() || settings_.client_limits->message(client_, now_ms())) return true;
        log_event(LogLevel::info, "smtp.client_limited", "client={} limit=messages", client_);
        return false;
    }

    // The checks first (on the workers; this connection waits, the shard does not), then the queue.
    void message(net::Stream& stream, smtp::Envelope&& message) override {
        if (parts_.mailauth == nullptr) return queue(stream, std::move(message));
        CheckInput input{client_, message.helo_name, message.mail_from};
        auto body = std::make_shared<const std::string>(std::move(message.body));
        message.body = std::string();
        const bool sent = parts_.mailauth->check(
            std::move(input), body,
            if_alive(alive(), [this, s = &stream, m = std::move(message), body](CheckVerdict&& verdict) mutable {
                checked(*s, std::move(m), body, std::move(verdict));
            }));
        if (!sent) {
            log_event(LogLevel::warn, "smtp.checks_busy", "client={}", client_);
            stored(stream, smtp::StoreOutcome::checks_busy);
        }
    }

    void checked(net::Stream& stream, smtp::Envelope&& message, std::shared_ptr<const std::string> body,
                 CheckVerdict&& verdict) {
        log_event(LogLevel::debug, "smtp.mailauth", "client={} spf={} dkim_pass={} dkim_fail={} dmarc={} dns={}{}",
                  client_, to_string(verdict.spf), verdict.dkim_pass, verdict.dkim_fail, to_string(verdict.dmarc.result),
                  verdict.dns_lookups, verdict.budget_exhausted ? " budget=exhausted" : "");
        if (verdict.unreadable) {
            ++rejected_messages_;
            log_event(LogLevel::info, "smtp.headers_refused", "client={}", client_);
            return stored(stream, smtp::StoreOutcome::unreadable_headers);
        }
        if (verdict.defer) return stored(stream, smtp::StoreOutcome::checks_busy);
        if (verdict.refuse) {
            ++rejected_messages_;
            log_event(LogLevel::info, "smtp.dmarc_refused", "client={}", client_);
            return stored(stream, smtp::StoreOutcome::dmarc_reject);
        }
        // Mail whose From: names a domain of ours must pass DMARC (an outsider forging our users).
        if (!settings_.refuse_unauthenticated_local || verdict.dmarc.result == DmarcResult::pass ||
            verdict.from_domains.empty())
            return decided(stream, std::move(message), *body, verdict, std::nullopt);
        // The directory look-up (off the shard on a shared store); the message waits with its verdict.
        struct Waiting {
            smtp::Envelope message;
            std::shared_ptr<const std::string> body;
            CheckVerdict verdict;
        };
        auto waiting = std::make_shared<Waiting>(Waiting{std::move(message), std::move(body), std::move(verdict)});
        const bool queued = read_then(
            parts_.reads,
            [source = recipient_source(directory_, *parts_.store), dmarc = waiting->verdict.dmarc.result,
             domains = waiting->verdict.from_domains] { return own_domain_refusal(source, dmarc, domains); },
            if_alive(alive(), [this, s = &stream, waiting](std::optional<smtp::StoreOutcome> refusal) {
                decided(*s, std::move(waiting->message), *waiting->body, waiting->verdict, refusal);
            }));
        if (!queued) stored(stream, smtp::StoreOutcome::checks_busy);
    }

    void decided(net::Stream& stream, smtp::Envelope&& message, const std::string& body, CheckVerdict& verdict,
                 std::optional<smtp::StoreOutcome> refusal) {
        if (refusal) {
            if (*refusal == smtp::StoreOutcome::unauthenticated) {
                ++rejected_messages_;
                log_event(LogLevel::info, "smtp.local_from_refused", "client={} dmarc={}", client_,
                          to_string(verdict.dmarc.result));
            }
            return stored(stream, *refusal);
        }
        // RFC 8601 5: fields claiming our authserv-id are removed before ours is added.
        mailauth::Stripped stripped = mailauth::strip_auth_results(body, settings_.authserv_id);
        message.body = std::move(verdict.header);
        message.body += stripped.message;
        queue(stream, std::move(message));
    }

    // The refusal a From: domain of ours earns without a DMARC pass; any thread (a store reader).
    static std::optional<smtp::StoreOutcome> own_domain_refusal(const RecipientSource& source, DmarcResult dmarc,
                                                                const std::vector<std::string>& from_domains) {
        for (const std::string& domain : from_domains) {
            auto local = is_local_domain(source, domain);
            if (!local) return smtp::StoreOutcome::failed;  // the directory unreadable: 451, try later
            if (!*local) continue;
            // DNS that failed for now is no proof of forgery: 451, the sender tries again.
            if (dmarc == DmarcResult::temperror) return smtp::StoreOutcome::checks_busy;
            return smtp::StoreOutcome::unauthenticated;
        }
        return std::nullopt;
    }

    void queue(net::Stream& stream, smtp::Envelope&& message) {
        const std::int64_t arrival = wall_clock_unix();
        const std::string queue_id = parts_.delivery->next_queue_id();
        smtp::ReceivedInfo info = received_info(stream, message);
        info.hostname = settings_.options.hostname;
        info.queue_id = queue_id;
        info.date_unix = arrival;
        auto body = std::make_shared<std::string>(smtp::received_header(info));
        body->append(message.body);
        message.body.clear();
        message.body.shrink_to_fit();  // the session's copy is not needed twice

        store::Envelope envelope = queue_envelope(stream, std::move(message), arrival);
        envelope.client_address = client_;
        parts_.delivery->accept(std::move(envelope), std::move(body),
                                if_alive(alive(), [this, s = &stream](AcceptOutcome outcome, const std::string& id) {
                                    if (outcome == AcceptOutcome::stored) ++messages_;
                                    stored(*s, store_outcome(outcome), id);
                                }));
    }

    smtp::RcptDecision check(const smtp::Address& rcpt) override {
        if (limited() && !settings_.client_limits->recipient(client_, now_ms())) {
            ++rejected_;
            return {smtp::RcptVerdict::rate_limited, 0};
        }
        return look_up(parts_.reads, recipient_source(directory_, *parts_.store), rcpt, Elsewhere::refuse,
                       settings_.postmaster);
    }

    void recipient_checked(const smtp::RcptDecision& decision) override {
        if (decision.verdict != smtp::RcptVerdict::accepted) ++rejected_;
    }

    const SmtpInboundSettings& settings_;
    const Directory& directory_;
    const SmtpShardParts parts_;
    std::uint32_t messages_ = 0;
    std::uint32_t rejected_ = 0;
    std::uint32_t rejected_messages_ = 0;  // refused at the end of data by the checks
    bool exempt_ = false;    // the client is in [limits] exempt_networks
    bool admitted_ = false;  // counted by client_limits: uncounted on close
};

}  // namespace

ServiceFactory smtp_inbound_factory(const SmtpInboundSettings& settings, const Directory& directory, SmtpPartsOf parts_of) {
    net::StreamOptions options;
    options.tls_mode = settings.tls ? net::TlsMode::starttls : net::TlsMode::none;
    options.tls = settings.tls;
    options.tls_slot = settings.tls_slot;
    const SmtpInboundSettings* s = &settings;
    const Directory* d = &directory;
    return net::stream_service_factory(options, [s, d, parts_of = std::move(parts_of)](net::Stream& stream) -> std::unique_ptr<net::StreamHandler> {
        return std::make_unique<SmtpHandler>(*s, *d, parts_of(stream.connection().shard()));
    });
}

}  // namespace vmx
