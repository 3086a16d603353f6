// Bounces (see bounces.h).
#include "appliance/delivery/bounces.h"

#include <fmt/format.h>

#include <ctime>

#include "appliance/delivery/dsn.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/delivery/outbound_queue.h"
#include "appliance/directory/account.h"
#include "appliance/directory/directory_view.h"
#include "appliance/mailstore/shard_store.h"
#include "core/log.h"
#include "crypto/random.h"

namespace vmx {
namespace {

std::string random_hex(std::size_t bytes) {
    std::vector<std::uint8_t> raw(bytes);
    if (!crypto::random_bytes(raw)) return fmt::format("{:x}", static_cast<std::uint64_t>(std::time(nullptr)));
    std::string out;
    for (std::uint8_t b : raw) out += fmt::format("{:02x}", b);
    return out;
}

}  // namespace

Bouncer::Bouncer(ShardStore& store, const Directory& directory, LocalDelivery& local, OutboundQueue& outbound,
                 BounceOptions options)
    : store_(store), directory_(directory), local_(local), outbound_(outbound), options_(std::move(options)) {}

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
    store::Envelope envelope;
    envelope.arrival_unix = now;
    envelope.client_address = "localhost";
    envelope.message_id = fmt::format("{}@{}", input.message_id_unique, options_.reporting_mta);
    store::Recipient to;
    to.address = original.sender;
    // A local sender's bounce goes straight to the mailbox, never out and back in.
    if (auto view = DirectoryView::open(directory_, store_.keys_snapshot())) {
        auto user = view->find_user(original.sender);
        if (user && user->state != UserState::closed) to.user_id = user->id;
    }
    envelope.recipients.push_back(std::move(to));
    auto body = std::make_shared<const std::string>(std::move(*dsn));
    const bool local = envelope.recipients.front().user_id != 0;
    auto done = [queue_id = failed.queue_id, local, done_bouncing = std::move(done_bouncing)](AcceptOutcome outcome,
                                                                                            const std::string& bounce_id) {
        if (outcome == AcceptOutcome::stored)
            log_event(LogLevel::info, "bounce.queued", "queue_id={} bounce_id={} local={}", queue_id, bounce_id, local);
        else
            log_event(LogLevel::error, "bounce.queue_failed", "queue_id={} full={}", queue_id, outcome == AcceptOutcome::full);
        done_bouncing(outcome == AcceptOutcome::stored);
    };
    ++sent_;
    if (local) local_.accept(std::move(envelope), std::move(body), done);
    else outbound_.accept(std::move(envelope), std::move(body), done);
}

}  // namespace vmx
