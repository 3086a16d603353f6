// The delivery agent's sessions (see delivery_agent.h): opening a connection to a destination's
// target, handing it one job after another, its outcomes, its end and what follows (the next target,
// plaintext after a failed handshake under `may`, a rest for a dead destination).
#include "appliance/delivery/delivery_agent.h"

#include <fmt/format.h>

#include <algorithm>

#include "appliance/delivery/delivery_agent_state.h"
#include "core/log.h"

namespace vmx {

using delivery_detail::has_non_ascii;
using delivery_detail::local_reply;
using delivery_detail::RecipientReplies;
using delivery_detail::reply_text;
using smtp::Reply;

// Opens a connection to one of the destination's targets: `target`, or the first after it whose
// socket can be made. False when none could be opened now (the waiting jobs are then deferred if
// nothing else works for them), so a caller's loop stops.
bool DeliveryAgent::open_session(Destination& dest, std::size_t target, TlsAttempt tls_attempt) {
    for (; target < dest.targets.size(); ++target) {
        const Target& t = dest.targets[target];
        auto s = std::make_unique<Session>();
        s->id = next_session_++;
        s->destination = dest.name;
        s->target = target;
        s->tls_possible = tls_attempt == TlsAttempt::when_offered;
        s->opened_ms = s->progress_ms = shard_.now_ms();
        smtp::ClientOptions client;
        client.helo = options_.helo;
        client.tls = dest.tls;
        client.tls_possible = s->tls_possible;
        if (dest.relay && relay_auth_)
            client.auth = smtp::ClientAuth(relay_auth_->username, crypto::SecretBytes::copy_of(relay_auth_->password.view()));
        auto tls = dest.tls == smtp::TlsPolicy::verify ? options_.tls_verified : options_.tls_opportunistic;
        auto context = std::make_unique<OutboundSession>(*this, s->id, options_.client, std::move(client), std::move(tls), t.host);
        auto connection = shard_.connect(service_, t.address, options_.connect_timeout_ms, std::move(context));
        if (!connection) {
            log_event(LogLevel::warn, "outbound.connect_refused", "destination={} target={} error=\"{}\"", dest.name,
                      t.address.to_string(), connection.error().message());
            // A family the kernel does not have (IPv6 switched off): the next address may do.
            if (connection.error() == std::errc::address_family_not_supported) continue;
            // No descriptor or slot now (or the shard is stopping): nothing would pick the jobs up.
            if (dest.sessions == 0 && !shard_.stopping())
                fail_queue(dest, local_reply(451, fmt::format("4.4.0 cannot open a connection: {}", connection.error().message())),
                           Permanence::temporary);
            return false;
        }
        ++dest.sessions;
        ++dest.starting;
        s->connection = *connection;
        ++stats_.connections;
        const std::uint64_t id = s->id;
        sessions_.emplace(id, std::move(s));
        const std::uint64_t period = std::max<std::uint64_t>(1000, options_.reply_timeout_ms / 4);
        shard_.schedule(period, [this, id](Shard&) { check_session(id); });
        return true;
    }
    if (dest.sessions == 0 && !shard_.stopping())
        fail_queue(dest, local_reply(451, "4.4.0 no target address can be connected to"), Permanence::temporary);
    return false;
}

// A session that waits too long for a reply, or lives too long, is cut (a slow or silent peer).
void DeliveryAgent::check_session(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = *it->second;
    const std::uint64_t now = shard_.now_ms();
    const bool stalled = !s.writing && now - s.progress_ms >= options_.reply_timeout_ms;
    if (stalled || now - s.opened_ms >= options_.session_timeout_ms) {
        if (Connection* c = shard_.find(s.connection)) {
            log_event(LogLevel::info, "outbound.timeout", "destination={} waited_ms={}", s.destination, now - s.progress_ms);
            static_cast<OutboundSession*>(c->context())->abort(*c, smtp::Abort::timeout);
        }
        return;
    }
    const std::uint64_t period = std::max<std::uint64_t>(1000, options_.reply_timeout_ms / 4);
    shard_.schedule(period, [this, id](Shard&) { check_session(id); });
}

void DeliveryAgent::session_ready(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = *it->second;
    s.progress_ms = shard_.now_ms();
    if (s.job) return;  // the last outcome is being written; next_job follows
    next_job(s);
}

void DeliveryAgent::session_progress(std::uint64_t id) {
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second->progress_ms = shard_.now_ms();
}

void DeliveryAgent::next_job(Session& s) {
    Connection* c = shard_.find(s.connection);
    if (!c) return;
    auto* session = static_cast<OutboundSession*>(c->context());
    if (!session->ready()) return;
    auto dit = destinations_.find(s.destination);
    Destination& dest = *dit->second;
    if (s.counted_starting) {
        s.counted_starting = false;
        --dest.starting;
        if (session->tls_active()) ++stats_.tls_sessions;
    }
    while (!dest.queue.empty() && s.messages < options_.messages_per_connection) {
        Job job = std::move(dest.queue.front());
        dest.queue.pop_front();
        auto eit = entries_.find(job.entry);
        if (eit == entries_.end() || eit->second->removed) continue;
        Entry& entry = *eit->second;
        // Recipients finished meanwhile (the admin deleted the message) are not sent again.
        std::erase_if(job.recipients, [&entry](std::size_t i) { return entry.envelope.recipients[i].done(); });
        if (job.recipients.empty()) {
            if (entry.jobs > 0) --entry.jobs;
            continue;
        }
        auto body = body_of(entry);
        if (!body) {
            RecipientReplies temp;
            for (std::size_t i = 0; i < job.recipients.size(); ++i)
                temp.emplace_back(i, local_reply(451, "4.3.0 queued message unreadable"));
            finish_job(std::move(job), {}, temp, {}, "", [] {});
            continue;
        }
        smtp::OutboundMessage message;
        message.sender = entry.envelope.sender;
        message.smtputf8 = has_non_ascii(entry.envelope.sender);
        for (std::size_t index : job.recipients) {
            message.recipients.push_back(entry.envelope.recipients[index].address);
            message.smtputf8 = message.smtputf8 || has_non_ascii(message.recipients.back());
        }
        message.body = *body;
        message.eight_bit = has_non_ascii(*body);
        ++s.messages;
        s.job = std::move(job);
        s.progress_ms = shard_.now_ms();
        s.job_started_us = monotonic_us();
        session->send(*c, message);  // may report message_done at once (refused before sending)
        return;
    }
    session->quit(*c);
}

void DeliveryAgent::message_done(std::uint64_t id, smtp::MessageOutcome&& outcome) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second->job) return;
    Session& s = *it->second;
    s.progress_ms = shard_.now_ms();
    Job job = std::move(*s.job);
    s.job.reset();
    stats_.delivery_seconds.observe_us(monotonic_us() - s.job_started_us);
    RecipientReplies accepted, temp, perm;
    for (const auto& r : outcome.recipients) {
        if (r.index >= job.recipients.size()) continue;
        auto& into = r.status == smtp::DeliveryStatus::accepted    ? accepted
                     : r.status == smtp::DeliveryStatus::perm_failure ? perm
                                                                      : temp;
        into.emplace_back(r.index, r.reply);
    }
    auto dit = destinations_.find(s.destination);
    std::string host;
    if (dit != destinations_.end()) {
        Destination& dest = *dit->second;
        if (s.target < dest.targets.size()) host = dest.targets[s.target].host;
        if (!accepted.empty()) dest.limit = std::min(dest.limit + 1, options_.concurrency_max);
    }
    // The connection carries nothing more until this outcome is durable.
    s.writing = true;
    s.job = Job{job.entry, {}};  // marks the session busy while the write runs
    finish_job(std::move(job), accepted, temp, perm, host, [this, id] {
        auto found = sessions_.find(id);
        if (found == sessions_.end()) return;
        found->second->writing = false;
        found->second->job.reset();
        next_job(*found->second);
    });
}

void DeliveryAgent::session_ended(std::uint64_t id, const SessionEnd& end) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    auto dit = destinations_.find(s->destination);
    if (dit == destinations_.end()) return;
    Destination& dest = *dit->second;
    --dest.sessions;
    if (s->counted_starting) --dest.starting;
    pump_starved();
    if (end.tls_failed) stats_.tls_failures.fetch_add(1, std::memory_order_relaxed);
    if (end.greeted || shard_.stopping()) return pump(dest);
    // This target never greeted us: the next one, or the same in plaintext after a failed handshake.
    ++stats_.connect_failures;
    const Reply why = end.failure ? *end.failure : local_reply(421, "4.4.2 connection lost before the greeting");
    log_event(LogLevel::info, "outbound.target_failed", "destination={} target={} reply=\"{}\"", dest.name,
              s->target < dest.targets.size() ? dest.targets[s->target].address.to_string() : std::string("?"),
              reply_text(why));
    if (end.tls_failed && dest.tls == smtp::TlsPolicy::may && s->tls_possible && s->target < dest.targets.size()) {
        open_session(dest, s->target, TlsAttempt::plaintext);
        return;
    }
    if (s->target + 1 < dest.targets.size() && !dest.queue.empty()) {
        open_session(dest, s->target + 1, TlsAttempt::when_offered);
        return;
    }
    if (dest.sessions > 0) return;  // others still work for this destination
    // Dead for now: the waiting jobs are deferred and the destination rests.
    dest.rest_until_ms = shard_.now_ms() + options_.dead_backoff_ms;
    dest.limit = options_.concurrency_initial;
    dest.plan_until_ms = 0;  // ask DNS again after the rest
    fail_queue(dest, why, Permanence::temporary);
}

}  // namespace vmx
