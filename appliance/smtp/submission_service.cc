// The submission handler (see submission_service.h): logins, the sender binding, hourly limits and
// the split of each message between local delivery and the smtp-out queue.
#include "appliance/smtp/submission_service.h"

#include <fmt/format.h>

#include <array>
#include <optional>

#include "appliance/auth/login_flow.h"
#include "appliance/auth/sessions.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/delivery/outbound_queue.h"
#include "appliance/directory/senders.h"
#include "appliance/mailauth/mailauth_workers.h"
#include "appliance/smtp/queue_message.h"
#include "appliance/smtp/recipients.h"
#include "appliance/smtp/smtp_connection.h"
#include "core/log.h"
#include "crypto/random.h"
#include "net/smtp/headers.h"
#include "net/stream/stream.h"

namespace vmx {
namespace {

smtp::AuthOutcome auth_outcome(LoginOutcome outcome) {
    switch (outcome) {
        case LoginOutcome::ok: return smtp::AuthOutcome::ok;
        case LoginOutcome::bad_credentials: return smtp::AuthOutcome::bad_credentials;
        case LoginOutcome::temp_failure: return smtp::AuthOutcome::temp_failure;
        case LoginOutcome::disabled: return smtp::AuthOutcome::disabled;
        case LoginOutcome::policy_denied: return smtp::AuthOutcome::policy_denied;
    }
    return smtp::AuthOutcome::temp_failure;
}

// RFC 6409 8.3: a Message-ID unique world-wide: 128 random bits at this host.
std::optional<std::string> new_message_id(std::string_view hostname) {
    std::array<std::uint8_t, 16> random{};
    if (!crypto::random_bytes(random)) return std::nullopt;
    std::string id = "<";
    for (std::uint8_t b : random) id += fmt::format("{:02x}", b);
    id += "@";
    id += hostname;
    id += ">";
    return id;
}

// Both queue writes of one message report here; the client hears once, the worst outcome.
struct SplitWrite {
    std::size_t left = 0;
    AcceptOutcome worst = AcceptOutcome::stored;
    std::string queue_id;  // the first queue's id
    std::function<void(AcceptOutcome, const std::string&)> done;

    void report(AcceptOutcome outcome, const std::string& id) {
        if (queue_id.empty()) queue_id = id;
        if (outcome == AcceptOutcome::full || (outcome == AcceptOutcome::failed && worst == AcceptOutcome::stored))
            worst = outcome;
        if (--left == 0) done(worst, queue_id);
    }
};

class SubmissionHandler final : private smtp::SenderPolicy, public SmtpConnection {
public:
    SubmissionHandler(const SubmissionSettings& settings, const Directory& directory, SubmissionShardParts parts,
                      Shard& shard)
        : SmtpConnection(settings.limits, settings.options, this), settings_(settings), directory_(directory),
          parts_(parts), shard_(shard) {
        if (parts_.timings != nullptr) data_reply_ = &parts_.timings->submission_data_reply;
    }

    void on_tls_started(net::Stream& stream, const net::TlsInfo& info) override {
        tls_version_ = info.version;
        SmtpConnection::on_tls_started(stream, info);
    }

    void on_close(net::Stream& stream) override {
        SmtpConnection::on_close(stream);
        if (session_id_) parts_.sessions->remove(*session_id_);
        if (user_)
            log_event(LogLevel::info, "submission.session", "user={} client={} messages={} rcpt_rejected={}", user_->id,
                      client_, messages_, rejected_);
    }

private:
    // An address banned for failed logins is turned away before it can try again.
    std::string refusal_at_connect(net::Stream&) override {
        if (settings_.bans == nullptr || !settings_.bans->banned(client_, wall_clock_unix())) return {};
        log_event(LogLevel::info, "submission.banned_refused", "client={}", client_);
        return "421 4.7.0 " + settings_.options.hostname +
               " Error: too many failed logins from your address, try again later\r\n";
    }

    // ---- login ------------------------------------------------------------------------------

    void login(net::Stream& stream, smtp::AuthRequest&& request) override {
        LoginRequest login;
        login.name = std::move(request.username);
        login.secret = std::move(request.secret);
        login.protocol = "submission";
        login.client_ip = client_;
        login.tls_version = tls_version_;
        parts_.login->login(std::move(login), if_alive(alive(), [this, s = &stream](LoginVerdict verdict) {
                                logged_in(*s, std::move(verdict));
                            }));
    }

    void logged_in(net::Stream& stream, LoginVerdict verdict) {
        if (verdict.outcome != LoginOutcome::ok) {
            const smtp::AuthOutcome outcome = auth_outcome(verdict.outcome);
            if (verdict.delay_ms == 0) return auth_result(stream, outcome);
            // A failure's throttle delay: the answer waits, the connection holds nothing else.
            return shard_.schedule(verdict.delay_ms, if_alive(alive(), [this, s = &stream, outcome](Shard&) {
                                       auth_result(*s, outcome);
                                   }));
        }
        const Account& account = *verdict.account;
        // What the session needs of the account, without its password hashes and secrets.
        user_.emplace();
        user_->id = account.user.id;
        user_->address = account.user.address;
        user_->allowed_senders = account.user.allowed_senders;
        const OrgPolicy& policy = account.org.policy;
        hourly_ = settings_.hourly;
        if (policy.submission_messages_per_hour > 0) hourly_.messages = policy.submission_messages_per_hour;
        if (policy.submission_recipients_per_hour > 0) hourly_.recipients = policy.submission_recipients_per_hour;
        start_session(stream, policy.session_max_s);
        auth_result(stream, smtp::AuthOutcome::ok);
    }

    // Remote logout and the organisation's session length end the session like a drain does.
    void start_session(net::Stream& stream, std::uint32_t session_max_s) {
        SessionInfo info;
        info.user_id = user_->id;
        info.protocol = "submission";
        info.client_ip = client_;
        info.tls_version = tls_version_;
        info.started_unix = wall_clock_unix();
        session_id_ = parts_.sessions->add(std::move(info), if_alive(alive(), [this, s = &stream] {
                                               session_id_.reset();  // ShardSessions removed it already
                                               end(*s, smtp::EndReason::logged_out);
                                           }));
        if (session_max_s > 0)
            shard_.schedule(std::uint64_t{session_max_s} * 1000, if_alive(alive(), [this, s = &stream](Shard&) {
                                end(*s, smtp::EndReason::session_limit);
                            }));
    }

    bool may_send_as(std::string_view address) override { return user_ && vmx::may_send_as(*user_, address); }

    smtp::RcptDecision check(const smtp::Address& rcpt) override {
        return look_up(parts_.reads, recipient_source(directory_, *parts_.store), rcpt, Elsewhere::relay,
                       settings_.postmaster);
    }

    void recipient_checked(const smtp::RcptDecision& decision) override {
        if (decision.verdict != smtp::RcptVerdict::accepted) ++rejected_;
    }

    // ---- a message ----------------------------------------------------------------------------

    void message(net::Stream& stream, smtp::Envelope&& message) override {
        const auto recipients = static_cast<std::uint32_t>(message.recipients.size());
        parts_.rates->reserve(user_->id, recipients, hourly_,
                              if_alive(alive(), [this, s = &stream, m = std::move(message)](RateOutcome o) mutable {
                                  rated(*s, std::move(m), o);
                              }));
    }

    void rated(net::Stream& stream, smtp::Envelope&& message, RateOutcome outcome) {
        if (outcome == RateOutcome::over) {
            log_event(LogLevel::info, "submission.over_rate", "user={} rcpts={}", user_->id, message.recipients.size());
            return stored(stream, smtp::StoreOutcome::over_rate);
        }
        if (outcome == RateOutcome::unavailable) return stored(stream, smtp::StoreOutcome::failed);
        const std::int64_t arrival = wall_clock_unix();
        std::size_t local = 0;
        for (const auto& r : message.recipients) local += r.user_id != 0 ? 1 : 0;
        const std::string queue_id = local > 0 ? parts_.delivery->next_queue_id() : parts_.outbound->next_queue_id();
        auto body = with_headers(stream, message, queue_id, arrival);
        if (!body) return stored(stream, smtp::StoreOutcome::failed);
        store::Envelope all = queue_envelope(stream, std::move(message), arrival);
        all.client_address = client_;
        const std::string domain = signing_domain(**body);
        if (domain.empty()) return queue_split(stream, std::move(all), std::move(*body));
        const bool sent = parts_.mailauth->sign(
            domain, *body, if_alive(alive(), [this, s = &stream, all = std::move(all), body = *body](SignDone&& done) mutable {
                signed_message(*s, std::move(all), std::move(body), std::move(done));
            }));
        if (!sent) {
            log_event(LogLevel::warn, "submission.signing_busy", "user={}", user_->id);
            stored(stream, smtp::StoreOutcome::checks_busy);
        }
    }

    // The domain to sign for: the one From: address's, when the login may send as it and the
    // domain has a key (RFC 6376 leaves the choice to the signer; signing for an address the user
    // does not own would vouch for a forgery). Empty: the message goes unsigned.
    std::string signing_domain(const std::string& body) const {
        if (parts_.mailauth == nullptr) return {};
        smtp::HeaderLimits limits;
        const smtp::HeaderSummary headers = smtp::scan_headers(body, limits);
        if (headers.problem != smtp::HeaderProblem::none || headers.from.size() != 1 || !user_ ||
            !vmx::may_send_as(*user_, headers.from.front()))
            return {};
        const std::string& from = headers.from.front();
        std::string domain = from.substr(from.rfind('@') + 1);
        if (!parts_.mailauth->workers().has_key(domain)) return {};
        return domain;
    }

    void signed_message(net::Stream& stream, store::Envelope&& all, std::shared_ptr<const std::string> body,
                        SignDone&& done) {
        if (done.failed) log_event(LogLevel::error, "submission.dkim_sign_failed", "user={} selector={}", user_->id, done.selector);
        if (done.header.empty()) return queue_split(stream, std::move(all), std::move(body));
        auto signed_body = std::make_shared<std::string>(std::move(done.header));
        signed_body->append(*body);
        queue_split(stream, std::move(all), std::move(signed_body));
    }

    // Local recipients through local delivery, remote ones into the smtp-out queue; the client hears
    // once, when both writes are durable.
    void queue_split(net::Stream& stream, store::Envelope&& all, std::shared_ptr<const std::string> body) {
        std::size_t local = 0;
        for (const auto& r : all.recipients) local += r.user_id != 0 ? 1 : 0;
        const bool remote = local < all.recipients.size();
        auto split = std::make_shared<SplitWrite>();
        split->left = (local > 0 ? 1 : 0) + (remote ? 1 : 0);
        split->done = if_alive(alive(), [this, s = &stream](AcceptOutcome o, const std::string& id) {
            if (o == AcceptOutcome::stored) ++messages_;
            stored(*s, store_outcome(o), id);
        });
        auto report = [split](AcceptOutcome o, const std::string& id) { split->report(o, id); };
        if (remote) parts_.outbound->accept(only(all, false), body, report);
        if (local > 0) parts_.delivery->accept(only(all, true), std::move(body), report);
    }

    // The recipients of one kind: local (a user id) or remote.
    static store::Envelope only(const store::Envelope& all, bool local) {
        store::Envelope out = all;
        std::erase_if(out.recipients, [local](const store::Recipient& r) { return (r.user_id != 0) != local; });
        return out;
    }

    // Received: (with the login and TLS; without the client by default), and what RFC 6409 8.2
    // and 8.3 add when the client left them out.
    std::optional<std::shared_ptr<const std::string>> with_headers(const net::Stream& stream, smtp::Envelope& message,
                                                                   const std::string& queue_id, std::int64_t arrival) {
        smtp::ReceivedInfo info = received_info(stream, message);
        info.hostname = settings_.options.hostname;
        info.queue_id = queue_id;
        info.date_unix = arrival;
        info.authenticated = true;
        info.hide_client = settings_.hide_client_address;
        auto body = std::make_shared<std::string>(smtp::received_header(info));
        if (!message.has_message_id) {
            auto id = new_message_id(settings_.options.hostname);
            if (!id) return std::nullopt;
            *body += "Message-ID: " + *id + "\r\n";
        }
        if (!message.has_date) *body += "Date: " + smtp::rfc5322_date(arrival) + "\r\n";
        body->append(message.body);
        message.body.clear();
        message.body.shrink_to_fit();
        return body;
    }

    const SubmissionSettings& settings_;
    const Directory& directory_;
    const SubmissionShardParts parts_;
    Shard& shard_;
    std::optional<User> user_;  // after a login: id, address and allowed senders only
    HourlyLimits hourly_;
    std::optional<std::uint64_t> session_id_;
    std::string tls_version_;
    std::uint32_t messages_ = 0;
    std::uint32_t rejected_ = 0;
};

}  // namespace

ServiceFactory submission_factory(const SubmissionSettings& settings, const Directory& directory,
                                  SubmissionPartsOf parts_of) {
    net::StreamOptions options;
    options.tls_mode = settings.options.transport == smtp::Transport::tls ? net::TlsMode::implicit : net::TlsMode::starttls;
    options.tls = settings.tls;
    options.tls_slot = settings.tls_slot;
    const SubmissionSettings* s = &settings;
    const Directory* d = &directory;
    return net::stream_service_factory(options, [s, d, parts_of = std::move(parts_of)](net::Stream& stream) -> std::unique_ptr<net::StreamHandler> {
        Shard& shard = stream.connection().shard();
        return std::make_unique<SubmissionHandler>(*s, *d, parts_of(shard), shard);
    });
}

}  // namespace vmx
