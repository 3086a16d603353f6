// The inbound SMTP handler (see inbound_service.h): durable queueing through local delivery and the
// directory look-ups of RCPT; the engine itself is driven by SmtpConnection.
#include "appliance/smtp/inbound_service.h"

#include "appliance/delivery/local_delivery.h"
#include "appliance/smtp/queue_message.h"
#include "appliance/smtp/recipients.h"
#include "appliance/smtp/smtp_connection.h"
#include "core/log.h"

namespace vmx {
namespace {

class SmtpHandler final : public SmtpConnection {
public:
    SmtpHandler(const SmtpInboundSettings& settings, const Directory& directory, SmtpShardParts parts)
        : SmtpConnection(settings.limits, settings.options), settings_(settings), directory_(directory), parts_(parts) {}

    void on_close(net::Stream& stream) override {
        SmtpConnection::on_close(stream);
        if (messages_ > 0 || rejected_ > 0)
            log_event(LogLevel::info, "smtp.session", "client={} messages={} rcpt_rejected={}", client_, messages_, rejected_);
    }

private:
    void message(net::Stream& stream, smtp::Envelope&& message) override {
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
        auto decision = look_up_recipient(directory_, *parts_.store, rcpt, Elsewhere::refuse);
        if (decision.verdict != smtp::RcptVerdict::accepted) ++rejected_;
        return decision;
    }

    const SmtpInboundSettings& settings_;
    const Directory& directory_;
    const SmtpShardParts parts_;
    std::uint32_t messages_ = 0;
    std::uint32_t rejected_ = 0;
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
