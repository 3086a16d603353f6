// Local delivery (see local_delivery.h).
#include "appliance/delivery/local_delivery.h"

#include <algorithm>
#include <iterator>
#include <utility>
#include <ctime>

#include "core/log.h"
#include "store/errc.h"
#include "appliance/common/shard_calls.h"
#include "appliance/directory/account.h"
#include "appliance/mailstore/inbound_queue.h"
#include "appliance/mailstore/queue_entries.h"
#include "store/layout.h"
#include "store/queue.h"

namespace vmx {
namespace {

using Outcome = std::tuple<std::uint16_t, store::RecipientState, std::string>;

constexpr std::size_t recover_batch = 1000;  // queue entries read per transaction at start-up

struct DeliverPayload final : MessagePayload {
    std::uint32_t queue_segment = 0;
    std::uint64_t entry_id = 0;
    std::vector<std::pair<std::uint16_t, std::uint64_t>> recipients;  // index in the envelope, user id
    std::shared_ptr<const std::string> body;
};

// The owner's answer to a DeliverPayload (a reply through ShardCalls, sent until taken).
struct DeliveredPayload final : MessagePayload {
    std::vector<Outcome> outcomes;
};

}  // namespace

struct LocalDelivery::Work {
    std::uint32_t origin = 0;  // the queue's shard
    std::uint64_t token = 0;   // the request's, for the reply
    DeliverPayload request;
    std::vector<Outcome> outcomes;
    std::size_t left = 0;
};

LocalDelivery::LocalDelivery(Shard& shard, ShardStore& store, MailboxWrites& writes, const Directory& directory,
                             ShardCalls& calls, DeliveryOptions options, ShardReads* reads)
    : shard_(shard), store_(store), writes_(writes), directory_(directory), calls_(calls), options_(std::move(options)),
      reads_(reads) {}

std::int64_t LocalDelivery::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

// The shard's inbound queue is the smtp-in environment of its first owned segment: every message
// accepted during one lane turn then shares one durable commit (a queue per owned segment would
// cost a commit, two syncs, per segment and turn, and batch nothing on a busy shard).
std::uint32_t LocalDelivery::queue_segment() const { return vmx::queue_segment(store_); }

std::string LocalDelivery::next_queue_id() {
    const std::uint32_t segment = queue_segment();
    return queue_id_of(segment, store_.segment(segment).smtp_in->next_id());
}

// ---- the accepting shard -----------------------------------------------------------------------

void LocalDelivery::accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                           std::function<void(AcceptOutcome, const std::string&)> done) {
    auto kept = std::make_shared<store::Envelope>(std::move(envelope));
    const std::uint32_t segment = queue_segment();
    const std::string& bytes = *body;  // taken before `body` moves into the completion
    enqueue(store_, store::QueueKind::smtp_in, *kept, bytes,
            [this, segment, kept, body = std::move(body), done = std::move(done)](EnqueueOutcome outcome,
                                                                                  std::uint64_t id) mutable {
                const std::string queue_id = id == 0 ? std::string() : queue_id_of(segment, id);
                if (outcome != EnqueueOutcome::stored)
                    return done(outcome == EnqueueOutcome::full ? AcceptOutcome::full : AcceptOutcome::failed, queue_id);
                ++stats_.accepted;
                // Durable: the client may have its 250 now (or, answer_after_hand_off, once the
                // mailboxes have it); delivery runs from here.
                auto answer = [done = std::move(done), queue_id] { done(AcceptOutcome::stored, queue_id); };
                if (!options_.answer_after_hand_off) answer();
                // Start-up's recovery may have read this entry already (its commit raced the first
                // loop turn): it is on its way then, and a second hand-off would report twice.
                if (entries_.count({segment, id})) {
                    if (options_.answer_after_hand_off) answer();
                    return;
                }
                Entry& entry = entries_[{segment, id}];
                if (options_.answer_after_hand_off) entry.answer = std::move(answer);
                stats_.queued.store(entries_.size(), std::memory_order_relaxed);
                entry.segment = segment;
                entry.id = id;
                entry.envelope = std::move(*kept);
                entry.body = body;
                hand_off(entry);
            });
}

// Sends every recipient that is due to the shard owning its mailbox.
void LocalDelivery::hand_off(Entry& entry) {
    const std::int64_t now = now_unix();
    if (!entry.body) {
        // Waiting entries do not keep their body in memory; it is read back from the queue.
        auto body = load_queued_body(store_, entry.segment, entry.id);
        if (!body) {
            log_event(LogLevel::error, "delivery.body_unreadable", "queue_id={} error=\"{}\"",
                      queue_id_of(entry.segment, entry.id), body.error().message());
            answer_if_reported(entry);
            return schedule_retry({entry.segment, entry.id}, now + options_.retry.retry_first_s);
        }
        entry.body = std::make_shared<const std::string>(body->begin(), body->end());
    }
    std::map<std::uint32_t, std::unique_ptr<DeliverPayload>> by_shard;
    for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
        const store::Recipient& r = entry.envelope.recipients[i];
        if (r.done() || (r.state == store::RecipientState::failed_temp && r.next_try_unix > now)) continue;
        const std::uint32_t segment = store::segment_of(r.user_id, store_.segment_count());
        const std::uint32_t owner = store::owner_shard(segment, shard_.shard_count());
        auto& payload = by_shard[owner];
        if (!payload) {
            payload = std::make_unique<DeliverPayload>();
            payload->queue_segment = entry.segment;
            payload->entry_id = entry.id;
            payload->body = entry.body;
        }
        payload->recipients.emplace_back(static_cast<std::uint16_t>(i), r.user_id);
    }
    // Count every hand-off before the first starts: a local one may report at once.
    for (const auto& [owner, payload] : by_shard) entry.outstanding += payload->recipients.size();
    for (auto& [owner, payload] : by_shard) {
        if (owner == shard_.id()) {
            auto work = std::make_shared<Work>();
            work->origin = shard_.id();
            work->request = std::move(*payload);
            deliver(work);
            continue;
        }
        Message m;
        m.kind = message_deliver;
        std::vector<std::pair<std::uint16_t, std::uint64_t>> sent = payload->recipients;
        m.payload = std::move(payload);
        auto reported = [this, segment = entry.segment, id = entry.id](Message& reply) {
            if (auto* done = static_cast<DeliveredPayload*>(reply.payload.get())) apply_outcomes(segment, id, done->outcomes);
        };
        if (!calls_.call(owner, std::move(m), std::move(reported))) {
            // That shard's inbox is full: count these as a temporary failure and try again soon.
            std::vector<Outcome> outcomes;
            outcomes.reserve(sent.size());
            for (const auto& [index, user] : sent)
                outcomes.emplace_back(index, store::RecipientState::failed_temp, "451 4.3.0 delivery queue busy");
            apply_outcomes(entry.segment, entry.id, outcomes);
        }
    }
    answer_if_reported(entry);
    if (entry.outstanding == 0) settle({entry.segment, entry.id});
}

// The accept's answer, held (answer_after_hand_off) until no hand-off is outstanding: every
// recipient is in its mailbox, failed for good, or (failed for now) waits in the queue.
void LocalDelivery::answer_if_reported(Entry& entry) {
    if (entry.outstanding > 0 || !entry.answer) return;
    std::exchange(entry.answer, nullptr)();
}

void LocalDelivery::apply_outcomes(std::uint32_t segment, std::uint64_t id, const std::vector<Outcome>& outcomes) {
    auto it = entries_.find({segment, id});
    if (it == entries_.end()) return;
    Entry& entry = it->second;
    const std::int64_t now = now_unix();
    std::vector<std::size_t> failed;
    for (const auto& [index, state, reply] : outcomes) {
        if (index >= entry.envelope.recipients.size()) continue;
        store::Recipient& r = entry.envelope.recipients[index];
        if (entry.outstanding > 0) --entry.outstanding;
        if (state == store::RecipientState::failed_temp) {
            ++r.attempts;
            const RetryDecision next = next_retry(options_.retry, r.attempts, entry.envelope.arrival_unix, now);
            r.next_try_unix = next.next_try_unix;
            r.reply = reply;
            r.state = next.give_up ? store::RecipientState::failed_perm : store::RecipientState::failed_temp;
            ++(r.state == store::RecipientState::failed_perm ? stats_.perm_failures : stats_.temp_failures);
        } else {
            r.state = state;
            r.reply = reply;
            if (state == store::RecipientState::failed_perm) ++stats_.perm_failures;
        }
        if (r.state == store::RecipientState::failed_perm) failed.push_back(index);
    }
    answer_if_reported(entry);
    // A bounce is never sent for a bounce (the null sender), RFC 5321 6.1.
    if (!failed.empty() && bounce_ && !entry.envelope.sender.empty()) return bounce_then_settle(it->first, std::move(failed));
    if (entry.outstanding == 0) settle(it->first);
}

// The failures are written (settle) only once their bounce is durable, so a crash between the two
// may bounce twice but never loses a bounce; a bounce that cannot be queued makes them temporary.
void LocalDelivery::bounce_then_settle(const Key& key, std::vector<std::size_t> failed) {
    Entry& entry = entries_.at(key);
    auto done = [this, key, failed](bool bounced) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return;
        Entry& e = found->second;
        --e.bounces_pending;
        if (!bounced) {
            for (std::size_t index : failed) {
                store::Recipient& r = e.envelope.recipients[index];
                r.state = store::RecipientState::failed_temp;
                r.next_try_unix = now_unix() + options_.retry.retry_first_s;
            }
        }
        if (e.outstanding == 0 && e.bounces_pending == 0) settle(key);
    };
    if (!entry.body) return done_without_body(key, std::move(done));
    ++entry.bounces_pending;
    bounce_(FailedDelivery{entry.envelope, std::move(failed), std::vector<std::string>(entry.envelope.recipients.size()),
                           *entry.body, queue_id_of(entry.segment, entry.id)},
            std::move(done));
}

// Without the body no bounce can quote it: the failures stay temporary and are tried again.
void LocalDelivery::done_without_body(const Key& key, const BounceDone& done) {
    ++entries_.at(key).bounces_pending;
    done(false);
}

// Every hand-off of the entry has reported: remove it when done, else record the states and retry.
void LocalDelivery::settle(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.writing || it->second.bounces_pending > 0) return;
    Entry& entry = it->second;
    store::Queue& queue = *store_.segment(entry.segment).smtp_in;
    store::WriteRequest request;
    request.env = store_.lane_env(entry.segment, store::SegmentKind::smtp_in);
    const bool finished = entry.envelope.done();
    if (finished) {
        // Removals are batched: one commit for every entry finished within removal_batch_ms, so a
        // delivered message costs the queue one commit (its enqueue), not two. A crash before the
        // batch commits only makes recovery redo hand-offs the markers already answer.
        entry.writing = true;
        entry.body.reset();
        removals_[entry.segment].push_back(entry.id);
        if (!removals_scheduled_) {
            removals_scheduled_ = true;
            shard_.schedule(options_.removal_batch_ms, [this](Shard&) { flush_removals(); });
        }
        return;
    } else {
        auto ops = queue.prepare_update(store_.keys(), entry.id, entry.envelope);
        if (!ops) {
            log_event(LogLevel::error, "delivery.update_refused", "queue_id={} error=\"{}\"",
                      queue_id_of(entry.segment, entry.id), ops.error().message());
            return;
        }
        request.ops = std::move(*ops);
    }
    entry.writing = true;
    auto submitted = store_.submit(std::move(request), [this, key](const store::WriteResult& r) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return;
        Entry& e = found->second;
        e.writing = false;
        if (r.error) {
            // The queue keeps its older state; recovery or the next retry settles it again.
            log_event(LogLevel::warn, "delivery.queue_write_failed", "queue_id={} error=\"{}\"",
                      queue_id_of(e.segment, e.id), r.error.message());
            schedule_retry(key, now_unix() + options_.retry.retry_first_s);
            return;
        }
        std::int64_t next = INT64_MAX;
        for (const auto& rcpt : e.envelope.recipients)
            if (rcpt.state == store::RecipientState::failed_temp) next = std::min(next, rcpt.next_try_unix);
        if (next != INT64_MAX) schedule_retry(key, next);
        e.body.reset();  // minutes until the retry: the queue holds it meanwhile
    });
    if (!submitted) {
        entry.writing = false;
        schedule_retry(key, now_unix() + 1);
    }
}

void LocalDelivery::flush_removals() {
    removals_scheduled_ = false;
    auto batches = std::move(removals_);
    removals_.clear();
    for (auto& [segment, ids] : batches) {
        store::Queue& queue = *store_.segment(segment).smtp_in;
        store::WriteRequest request;
        request.env = store_.lane_env(segment, store::SegmentKind::smtp_in);
        for (std::uint64_t id : ids) {
            auto ops = queue.prepare_remove(id);
            std::move(ops.begin(), ops.end(), std::back_inserter(request.ops));
        }
        const std::uint32_t seg = segment;
        // "ids = ids" (and "index = index" below): clang 14, which builds the fuzz targets, cannot
        // capture a structured binding by name.
        auto done = [this, seg, ids = ids](const store::WriteResult& r) {
            for (std::uint64_t id : ids) {
                auto found = entries_.find({seg, id});
                if (found == entries_.end()) continue;
                if (r.error) {
                    log_event(LogLevel::warn, "delivery.queue_write_failed", "queue_id={} error=\"{}\"",
                              queue_id_of(seg, id), r.error.message());
                    found->second.writing = false;
                    schedule_retry(found->first, now_unix() + options_.retry.retry_first_s);
                    continue;
                }
                ++stats_.removed;
                entries_.erase(found);
            }
            stats_.queued.store(entries_.size(), std::memory_order_relaxed);
        };
        if (auto submitted = store_.submit(std::move(request), done); !submitted) {
            for (std::uint64_t id : ids) removals_[seg].push_back(id);  // the lane is full: next turn
            if (!removals_scheduled_) {
                removals_scheduled_ = true;
                shard_.schedule(options_.removal_batch_ms, [this](Shard&) { flush_removals(); });
            }
        }
    }
}

void LocalDelivery::schedule_retry(const Key& key, std::int64_t at_unix) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.retry_scheduled) return;
    it->second.retry_scheduled = true;
    const std::int64_t delay_s = std::max<std::int64_t>(at_unix - now_unix(), 1);
    shard_.schedule(static_cast<std::uint64_t>(delay_s) * 1000, [this, key](Shard&) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return;
        found->second.retry_scheduled = false;
        if (found->second.outstanding == 0 && !found->second.writing && found->second.bounces_pending == 0) {
            if (found->second.envelope.done()) settle(key);
            else hand_off(found->second);
        }
    });
}

void LocalDelivery::recover() {
    std::vector<Key> keys;  // what this recovery found: only these are handed off here
    for (std::uint32_t segment : store_.envs().segments()) {
        auto pending = [this, segment, &keys](store::QueuedEntry&& q) {
            if (entries_.count({segment, q.id})) return;  // accepted since: on its way already
            keys.emplace_back(segment, q.id);
            Entry& entry = entries_[{segment, q.id}];  // the body is read when it is handed off
            entry.segment = segment;
            entry.id = q.id;
            entry.envelope = std::move(q.envelope);
            ++stats_.recovered;
        };
        auto unreadable = [segment](std::uint64_t id, std::error_code error) {
            log_event(LogLevel::error, "delivery.entry_unreadable", "queue_id={} error=\"{}\"", queue_id_of(segment, id),
                      error.message());
        };
        if (auto r = for_each_pending(store_, segment, recover_batch, pending, unreadable); !r)
            log_event(LogLevel::error, "delivery.recover_failed", "segment={} error=\"{}\"", segment, r.error().message());
    }
    stats_.queued.store(entries_.size(), std::memory_order_relaxed);
    if (stats_.recovered > 0) log_event(LogLevel::info, "delivery.recovered", "entries={}", stats_.recovered.load());
    for (const Key& key : keys) {
        auto it = entries_.find(key);
        if (it != entries_.end() && it->second.outstanding == 0) hand_off(it->second);
    }
}

// ---- the mailbox owner's shard -----------------------------------------------------------------

void LocalDelivery::on_message(Message& m) {
    if (m.kind == message_deliver && m.payload) {
        auto work = std::make_shared<Work>();
        work->origin = m.from;
        work->token = m.token;
        work->request = std::move(*static_cast<DeliverPayload*>(m.payload.get()));
        deliver(work);
    }
}

void LocalDelivery::deliver(const std::shared_ptr<Work>& work) {
    work->left = work->request.recipients.size();
    work->outcomes.reserve(work->left);
    for (std::size_t i = 0; i < work->request.recipients.size(); ++i) deliver_one(work, i);
}

struct LocalDelivery::RecipientRead {
    Result<Account> account = fail(DirectoryErrc::unknown_user);
    Result<bool> delivered = false;  // the marker is there: handed off before
};

// Any thread: the shard, or a store reader on a shared store.
LocalDelivery::RecipientRead LocalDelivery::read_recipient(const Directory& directory, const MailStoreView& view,
                                                           const crypto::KeySet& keys, std::uint64_t user_id,
                                                           const store::DeliveryMarker& marker) {
    RecipientRead read;
    read.account = account_of(directory, keys, user_id, view.segments());
    if (read.account) read.delivered = already_delivered(view, read.account->mailbox.segment, marker);
    return read;
}

void LocalDelivery::deliver_one(const std::shared_ptr<Work>& work, std::size_t i) {
    const std::uint16_t index = work->request.recipients[i].first;
    const std::uint64_t user_id = work->request.recipients[i].second;
    const store::DeliveryMarker marker{store::QueueKind::smtp_in, work->request.queue_segment, work->request.entry_id, index,
                                       store_.all_envs().node()};
    // A hand-off of the same recipient still being read or written: this one waits for the queue's
    // next try (it will find the marker, or do the hand-off).
    if (writes_.marker_in_flight(marker) || reading_.contains(marker)) {
        work->outcomes.emplace_back(index, store::RecipientState::failed_temp, "451 4.3.0 delivery in progress");
        if (--work->left == 0) report(work);
        return;
    }
    if (reads_ == nullptr)
        return append_one(work, i, marker, read_recipient(directory_, store_view(store_), store_.keys(), user_id, marker));
    reading_.insert(marker);
    const bool queued = reads_->read(
        [&directory = directory_, view = store_view(store_), keys = store_.keys_snapshot(), user_id, marker] {
            return read_recipient(directory, view, *keys, user_id, marker);
        },
        [this, work, i, marker](RecipientRead read) {
            reading_.erase(marker);
            append_one(work, i, marker, std::move(read));
        });
    if (queued) return;
    reading_.erase(marker);
    RecipientRead busy;
    busy.account = fail(store::StoreErrc::queue_full);
    append_one(work, i, marker, std::move(busy));
}

void LocalDelivery::append_one(const std::shared_ptr<Work>& work, std::size_t i, const store::DeliveryMarker& marker,
                               RecipientRead read) {
    const std::uint16_t index = work->request.recipients[i].first;
    auto finish = [this, work, index](store::RecipientState state, std::string reply) {
        work->outcomes.emplace_back(index, state, std::move(reply));
        if (--work->left == 0) report(work);
    };
    Result<Account>& account = read.account;
    if (!account && account.error() == DirectoryErrc::unknown_user)
        return finish(store::RecipientState::failed_perm, "550 5.1.1 no such mailbox");
    if (!account) return finish(store::RecipientState::failed_temp, "451 4.3.0 directory unavailable");
    if (account->user.state == UserState::closed)  // RFC 3463 X.2.1: bounced as every permanent failure
        return finish(store::RecipientState::failed_perm, "550 5.2.1 mailbox disabled");
    if (!read.delivered) return finish(store::RecipientState::failed_temp, "451 4.3.0 mailbox unavailable");
    if (*read.delivered) {
        ++stats_.duplicates;  // a hand-off redone after a crash: it is in the mailbox already
        return finish(store::RecipientState::delivered, {});
    }
    const store::MailboxRef& box = account->mailbox;
    store::AppendOptions options;
    options.now_unix = now_unix();
    options.quota_bytes = account->user.quota_bytes;
    writes_.append(box, work->request.body, options, marker, [this, finish](Result<std::uint64_t> r) {
        if (r) {
            ++stats_.delivered;
            return finish(store::RecipientState::delivered, {});
        }
        if (r.error() == store::StoreErrc::over_quota) return finish(store::RecipientState::failed_temp, "452 4.2.2 mailbox full");
        finish(store::RecipientState::failed_temp, "451 4.3.0 mailbox write failed");
    });
}

// To the queue's shard, sent until taken: its entry waits for these outcomes (the appends they
// report are durable already).
void LocalDelivery::report(const std::shared_ptr<Work>& work) {
    if (work->origin == shard_.id()) {
        apply_outcomes(work->request.queue_segment, work->request.entry_id, work->outcomes);
        return;
    }
    auto payload = std::make_unique<DeliveredPayload>();
    payload->outcomes = std::move(work->outcomes);
    Message m;
    m.payload = std::move(payload);
    calls_.reply(work->origin, work->token, std::move(m));
}

}  // namespace vmx
