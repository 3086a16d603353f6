// Bounces (see bounces.h).
#include "appliance/delivery/bounces.h"

#include <fmt/format.h>

#include <ctime>

#include "appliance/delivery/dsn.h"
#include "appliance/delivery/generated_mail.h"
#include "core/log.h"

namespace vmx {

Bouncer::Bouncer(ShardStore& store, const Directory& directory, LocalDelivery& local, OutboundQueue& outbound,
                 BounceOptions options, ShardReads* reads)
    : store_(store), directory_(directory), local_(local), outbound_(outbound), reads_(reads),
      options_(std::move(options)) {}

void Bouncer::bounce(const FailedDelivery& failed, BounceDone done_bouncing) {
    const store::Envelope& original = failed.envelope;
    if (original.sender.empty() || failed.failed.empty()) return done_bouncing(false);
    const std::int64_t now = options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
    DsnInput input;
    input.reporting_mta = options_.reporting_mta;
    input.postmaster = fmt::format("MAILER-DAEMON@{}", options_.reporting_mta);
    input.original_sender = original.sender;
    input.queue_id = failed.queue_id;
    input.arrival_unix = original.arrival_unix;
    input.now_unix = now;
    input.original = failed.body;
    input.original_headers_bytes_max = options_.original_headers_bytes_max;
    input.message_id_domain = options_.reporting_mta;
    input.message_id_unique = random_hex(12);
    for (std::size_t k = 0; k < failed.failed.size(); ++k) {
        const store::Recipient& r = original.recipients[failed.failed[k]];
        DsnRecipient d;
        d.address = r.address;
        d.failed = true;
        d.reply = r.reply;
        d.status = enhanced_status_of(r.reply);
        d.remote_mta = k < failed.remote_hosts.size() ? failed.remote_hosts[k] : std::string();
        input.recipients.push_back(std::move(d));
    }
    auto dsn = build_dsn(input);
    if (!dsn) {
        log_event(LogLevel::error, "bounce.build_failed", "queue_id={} error=\"{}\"", failed.queue_id, dsn.error().message());
        return done_bouncing(false);
    }
    GeneratedMail mail;
    mail.to = original.sender;
    mail.message_id = fmt::format("{}@{}", input.message_id_unique, options_.reporting_mta);
    mail.body = std::make_shared<const std::string>(std::move(*dsn));
    mail.now_unix = now;
    auto done = [queue_id = failed.queue_id, done_bouncing = std::move(done_bouncing)](
                    AcceptOutcome outcome, const std::string& bounce_id, bool local) {
        if (outcome == AcceptOutcome::stored)
            log_event(LogLevel::info, "bounce.queued", "queue_id={} bounce_id={} local={}", queue_id, bounce_id, local);
        else
            log_event(LogLevel::error, "bounce.queue_failed", "queue_id={} full={}", queue_id, outcome == AcceptOutcome::full);
        done_bouncing(outcome == AcceptOutcome::stored);
    };
    ++sent_;
    // A local sender's bounce goes straight to the mailbox, never out and back in.
    queue_generated_mail(store_, directory_, reads_, local_, outbound_, std::move(mail), std::move(done));
}

}  // namespace vmx
