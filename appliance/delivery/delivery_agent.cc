// The outbound delivery agent of one shard (see delivery_agent.h): set-up, queue entries, outcomes
// and their durable writes, the admin's tools. Destinations and DNS: delivery_routing.cc; sessions:
// delivery_sessions.cc.
#include "appliance/delivery/delivery_agent.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "appliance/delivery/delivery_agent_state.h"
#include "appliance/mailstore/inbound_queue.h"
#include "appliance/mailstore/queue_entries.h"
#include "core/log.h"
#include "store/errc.h"
#include "store/queue.h"

namespace vmx {

using delivery_detail::reply_text;
using smtp::Reply;
using smtp::ReplyFrom;
using delivery_detail::domain_of;
using delivery_detail::RecipientReplies;

namespace {

constexpr std::size_t recover_batch = 1000;             // queue entries read per transaction at start-up

net::dns::DnsResolverOptions resolver_options(const OutboundOptions& options, std::uint32_t shard) {
    net::dns::DnsResolverOptions r;
    r.servers = options.resolvers;
    r.thread_name = fmt::format("vmx-dns-{}", shard);
    return r;
}

}  // namespace

// ---- set-up -------------------------------------------------------------------------------------

DeliveryAgent::DeliveryAgent(Shard& shard, ShardStore& store, std::uint32_t service, OutboundOptions options)
    : shard_(shard),
      store_(store),
      service_(service),
      options_(std::move(options)),
      resolver_(resolver_options(options_, shard.id())),
      random_state_(0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(std::time(nullptr)) << 8) ^ shard.id()) {
    relay_auth_ = options_.relay_auth;
}

DeliveryAgent::~DeliveryAgent() = default;

Result<void> DeliveryAgent::start() {
    if (auto r = resolver_.start(); !r) {
        log_event(LogLevel::error, "outbound.dns_unavailable", "error=\"{}\"", r.error().message());
        return r;
    }
    resolver_running_ = true;
    shard_.schedule(delivery_detail::destination_sweep_ms, [this](Shard&) { sweep_destinations(); });
    shard_.watch_readable(resolver_.completion_fd(), [this](Shard&) {
        resolver_.drain([this](net::dns::DnsAnswer&& answer) {
            auto it = lookups_.find(answer.token);
            if (it == lookups_.end()) return;
            auto fn = std::move(it->second);
            lookups_.erase(it);
            fn(std::move(answer));
        });
    });
    return {};
}

std::int64_t DeliveryAgent::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

std::string DeliveryAgent::queue_id(const Key& key) const {
    return queue_id_of(store::QueueKind::smtp_out, key.first, key.second);
}

// ---- entries --------------------------------------------------------------------------------------

void DeliveryAgent::add(std::uint32_t segment, std::uint64_t id, store::Envelope envelope,
                        std::shared_ptr<const std::string> body) {
    // Start-up's recovery may have read this entry already (its commit raced the first loop turn).
    if (entries_.count({segment, id})) return;
    auto entry = std::make_unique<Entry>();
    entry->key = {segment, id};
    entry->in_job.assign(envelope.recipients.size(), false);
    entry->envelope = std::move(envelope);
    keep_body(*entry, std::move(body));
    const Key key = entry->key;
    entries_[key] = std::move(entry);
    stats_.queued.store(entries_.size(), std::memory_order_relaxed);
    schedule_entry(key);
}

void DeliveryAgent::recover() {
    std::size_t found = 0;
    for (std::uint32_t segment : store_.envs().segments()) {
        auto pending = [&](store::QueuedEntry&& q) {
            if (entries_.count({segment, q.id})) return;  // added since it was accepted: known already
            auto entry = std::make_unique<Entry>();
            entry->key = {segment, q.id};
            entry->in_job.assign(q.envelope.recipients.size(), false);
            entry->envelope = std::move(q.envelope);
            entries_[entry->key] = std::move(entry);
            ++found;
        };
        auto unreadable = [segment](std::uint64_t id, std::error_code error) {
            log_event(LogLevel::error, "outbound.entry_unreadable", "queue_id={} error=\"{}\"",
                      queue_id_of(store::QueueKind::smtp_out, segment, id), error.message());
        };
        if (auto r = for_each_pending(store_, segment, recover_batch, pending, unreadable, store::QueueKind::smtp_out); !r)
            log_event(LogLevel::error, "outbound.recover_failed", "segment={} error=\"{}\"", segment, r.error().message());
    }
    stats_.queued.store(entries_.size(), std::memory_order_relaxed);
    if (found > 0) log_event(LogLevel::info, "outbound.recovered", "entries={}", found);
    std::vector<Key> keys;
    for (const auto& [key, entry] : entries_) keys.push_back(key);
    for (const Key& key : keys) schedule_entry(key);
}

// Every recipient that is due and not in a job goes into a job of its domain's destination.
void DeliveryAgent::schedule_entry(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second->removed) return;
    Entry& entry = *it->second;
    const std::int64_t now = now_unix();
    // One job per destination: a message to ten domains behind one relayhost goes there once.
    std::map<std::string, Job> by_destination;
    for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
        const store::Recipient& r = entry.envelope.recipients[i];
        if (r.done() || entry.in_job[i]) continue;
        if (r.state == store::RecipientState::failed_temp && r.next_try_unix > now) continue;
        if (r.user_id != 0) continue;  // local recipients of a bounce never come here
        Job& job = by_destination[destination_for(domain_of(r.address)).name];
        job.entry = key;
        job.recipients.push_back(i);
        entry.in_job[i] = true;
    }
    for (auto& [name, job] : by_destination) {
        // One RCPT list per transaction: split what the client engine would refuse.
        Destination& dest = *destinations_.find(name)->second;
        for (std::size_t at = 0; at < job.recipients.size(); at += options_.client.recipients_max) {
            Job part{job.entry, {}};
            const std::size_t end = std::min(job.recipients.size(), at + options_.client.recipients_max);
            part.recipients.assign(job.recipients.begin() + static_cast<std::ptrdiff_t>(at),
                                   job.recipients.begin() + static_cast<std::ptrdiff_t>(end));
            ++entry.jobs;
            dest.queue.push_back(std::move(part));
        }
        pump(dest);
    }
    arm_retry(entry);
}

void DeliveryAgent::arm_retry(Entry& entry) {
    if (entry.removed) return;
    std::int64_t next = INT64_MAX;
    for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
        const store::Recipient& r = entry.envelope.recipients[i];
        if (r.state == store::RecipientState::failed_temp && !entry.in_job[i]) next = std::min(next, r.next_try_unix);
    }
    // An armed retry that comes no later stays; an earlier one replaces it (the old one finds
    // retry_at_unix changed and does nothing).
    if (next == INT64_MAX || (entry.retry_armed && entry.retry_at_unix <= next)) return;
    entry.retry_armed = true;
    entry.retry_at_unix = next;
    const std::int64_t delay_s = std::max<std::int64_t>(next - now_unix(), 0);
    shard_.schedule(static_cast<std::uint64_t>(delay_s) * 1000 + 1, [this, key = entry.key, next](Shard&) {
        auto it = entries_.find(key);
        if (it == entries_.end() || !it->second->retry_armed || it->second->retry_at_unix != next) return;
        it->second->retry_armed = false;
        schedule_entry(key);
    });
}

std::shared_ptr<const std::string> DeliveryAgent::body_of(Entry& entry) {
    if (entry.body) return entry.body;
    auto body = load_queued_body(store_, entry.key.first, entry.key.second, store::QueueKind::smtp_out);
    if (!body) {
        log_event(LogLevel::error, "outbound.body_unreadable", "queue_id={} error=\"{}\"", queue_id(entry.key),
                  body.error().message());
        return nullptr;
    }
    keep_body(entry, std::make_shared<const std::string>(body->begin(), body->end()));
    return entry.body ? entry.body : std::make_shared<const std::string>(body->begin(), body->end());
}

// Bodies stay in memory between queueing and sending while they fit body_cache_bytes_max; the
// rest are read back from the queue when their connection is ready for them.
void DeliveryAgent::keep_body(Entry& entry, std::shared_ptr<const std::string> body) {
    drop_body(entry);
    if (!body || cached_body_bytes_ + body->size() > options_.body_cache_bytes_max) return;
    cached_body_bytes_ += body->size();
    entry.body = std::move(body);
}

void DeliveryAgent::drop_body(Entry& entry) {
    if (!entry.body) return;
    cached_body_bytes_ -= entry.body->size();
    entry.body.reset();
}

// ---- outcomes and the queue -----------------------------------------------------------------------

void DeliveryAgent::finish_job(Job job, const RecipientReplies& accepted, const RecipientReplies& temp,
                               const RecipientReplies& perm, const std::string& host, std::function<void()> then) {
    auto it = entries_.find(job.entry);
    if (it == entries_.end()) return then();
    Entry& entry = *it->second;
    if (entry.jobs > 0) --entry.jobs;
    for (std::size_t index : job.recipients) entry.in_job[index] = false;
    const std::int64_t now = now_unix();
    // A recipient finished meanwhile (the admin deleted the message) keeps its state.
    const auto recipient = [&](std::size_t i) -> store::Recipient* {
        store::Recipient& r = entry.envelope.recipients[job.recipients[i]];
        return r.done() ? nullptr : &r;
    };
    std::vector<std::size_t> failed;
    std::vector<std::string> failed_hosts;
    const auto fail = [&](store::Recipient& r, std::size_t i, const Reply& reply) {
        r.state = store::RecipientState::failed_perm;
        failed.push_back(job.recipients[i]);
        failed_hosts.push_back(reply.from == ReplyFrom::server ? host : std::string());
    };
    for (const auto& [i, reply] : accepted) {
        if (store::Recipient* r = recipient(i)) {
            r->state = store::RecipientState::delivered;
            r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
            ++stats_.delivered;
        }
    }
    for (const auto& [i, reply] : temp) {
        store::Recipient* r = recipient(i);
        if (!r) continue;
        ++r->attempts;
        const RetryDecision next = next_retry(options_.retry, r->attempts, entry.envelope.arrival_unix, now);
        r->next_try_unix = next.next_try_unix;
        r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
        if (next.give_up) {
            fail(*r, i, reply);
        } else {
            r->state = store::RecipientState::failed_temp;
            ++stats_.deferred;
        }
    }
    for (const auto& [i, reply] : perm) {
        if (store::Recipient* r = recipient(i)) {
            r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
            fail(*r, i, reply);
        }
    }
    // A bounce is never sent for a bounce (the null sender), RFC 5321 6.1.
    if (failed.empty() || !bounce_ || entry.envelope.sender.empty()) {
        stats_.bounced.fetch_add(failed.size(), std::memory_order_relaxed);
        return persist(entry, std::move(then));
    }
    bounce_then_persist(entry, std::move(failed), std::move(failed_hosts), std::move(then));
}

// The failures are written only once their bounce is durable; a bounce that cannot be queued turns
// them back into temporary failures, tried (and bounced) again later.
void DeliveryAgent::bounce_then_persist(Entry& entry, std::vector<std::size_t> failed, std::vector<std::string> hosts,
                                        std::function<void()> then) {
    const Key key = entry.key;
    auto settle = [this, key, failed, then = std::move(then)](bool bounced) mutable {
        auto found = entries_.find(key);
        if (found == entries_.end()) return then();
        Entry& e = *found->second;
        --e.bounces_pending;
        if (bounced) {
            stats_.bounced.fetch_add(failed.size(), std::memory_order_relaxed);
            log_event(LogLevel::info, "outbound.bounced", "queue_id={} recipients={}", queue_id(key), failed.size());
        } else {
            for (std::size_t index : failed) {
                store::Recipient& r = e.envelope.recipients[index];
                r.state = store::RecipientState::failed_temp;
                r.next_try_unix = now_unix() + options_.retry.retry_first_s;
            }
            ++stats_.deferred;
        }
        persist(e, std::move(then));
    };
    auto body = body_of(entry);
    if (!body) return settle(false);
    ++entry.bounces_pending;
    bounce_(FailedDelivery{entry.envelope, std::move(failed), std::move(hosts), *body, queue_id(key)}, std::move(settle));
}

// Writes the entry's recipient states (or removes it when none is left), then runs `then`. Writes of
// one entry never overlap: a change during a write is written by the next one.
void DeliveryAgent::persist(Entry& entry, std::function<void()> then) {
    entry.after_next.push_back(std::move(then));
    entry.dirty = true;
    if (!entry.writing) start_write(entry.key);
}

void DeliveryAgent::start_write(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& entry = *it->second;
    if (entry.bounces_pending > 0) return;  // the failures wait for their bounces (persist comes again)
    entry.writing = true;
    entry.dirty = false;
    entry.after_write = std::move(entry.after_next);
    entry.after_next.clear();
    const bool finished = entry.envelope.done();
    store::Queue& queue = *store_.segment(key.first).smtp_out;
    store::WriteRequest request;
    request.env = store_.lane_env(key.first, store::SegmentKind::smtp_out);
    if (finished) {
        request.ops = queue.prepare_remove(key.second);
    } else {
        auto ops = queue.prepare_update(store_.keys(), key.second, entry.envelope);
        if (ops) request.ops = std::move(*ops);
    }
    auto done = [this, key, finished](const store::WriteResult& r) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return;
        Entry& e = *found->second;
        e.writing = false;
        if (r.error) {
            // The queue keeps its older state: a crash now would redo these recipients. Try again.
            ++stats_.write_failures;
            log_event(LogLevel::warn, "outbound.queue_write_failed", "queue_id={} error=\"{}\"", queue_id(key),
                      r.error.message());
            e.dirty = true;
            std::move(e.after_write.begin(), e.after_write.end(), std::back_inserter(e.after_next));
            e.after_write.clear();
            shard_.schedule(1000, [this, key](Shard&) {
                auto again = entries_.find(key);
                if (again != entries_.end() && !again->second->writing) start_write(key);
            });
            return;
        }
        auto waiters = std::move(e.after_write);
        e.after_write.clear();
        if (finished && !e.dirty) {
            e.removed = true;
            drop_body(e);
            auto keep = std::move(found->second);
            entries_.erase(found);
            stats_.queued.store(entries_.size(), std::memory_order_relaxed);
            for (auto& fn : waiters) fn();
            return;
        }
        if (e.dirty) start_write(key);
        arm_retry(e);
        if (e.jobs == 0) drop_body(e);  // minutes until a retry: the queue holds it meanwhile
        for (auto& fn : waiters) fn();
    };
    if (request.ops.empty() || !store_.submit(std::move(request), done)) {
        store::WriteResult failed;
        failed.error = make_error_code(store::StoreErrc::queue_full);
        done(failed);
    }
}

// ---- the admin's tools ----------------------------------------------------------------------------

std::size_t DeliveryAgent::retry(std::optional<Key> only) {
    std::size_t touched = 0;
    std::vector<Key> keys;
    for (auto& [key, entry] : entries_) {
        if (only && key != *only) continue;
        bool any = false;
        for (store::Recipient& r : entry->envelope.recipients)
            if (r.state == store::RecipientState::failed_temp) {
                r.next_try_unix = 0;
                any = true;
            }
        if (any) keys.push_back(key);
    }
    for (auto& [name, dest] : destinations_) dest->rest_until_ms = 0;
    for (const Key& key : keys) {
        schedule_entry(key);
        ++touched;
    }
    return touched;
}

void DeliveryAgent::remove(std::uint32_t segment, std::uint64_t id, std::function<void(std::error_code)> done) {
    auto it = entries_.find({segment, id});
    if (it == entries_.end()) return done(make_error_code(store::StoreErrc::not_found));
    Entry& entry = *it->second;
    for (const auto& [sid, s] : sessions_)
        if (s->job && s->job->entry == entry.key) return done(std::make_error_code(std::errc::device_or_resource_busy));
    // Its waiting jobs are skipped when they come up; its recipients count as finished.
    for (store::Recipient& r : entry.envelope.recipients)
        if (!r.done()) {
            r.state = store::RecipientState::failed_perm;
            r.reply = "removed by the administrator";
        }
    entry.jobs = 0;
    persist(entry, [done = std::move(done)] { done({}); });
}

}  // namespace vmx
