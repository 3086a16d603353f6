// Mailbox changes through the store lane (see mailbox_writes.h).
#include "appliance/mailstore/mailbox_writes.h"

#include <algorithm>
#include <span>

#include "core/assert.h"
#include "store/errc.h"

namespace vmx {

void MailboxWrites::append(const store::MailboxRef& box, std::shared_ptr<const std::string> body,
                           store::AppendOptions options, std::optional<store::DeliveryMarker> marker, MailboxDone done) {
    Change c;
    c.kind = Kind::append;
    c.body = std::move(body);
    c.options = options;
    c.marker = marker;
    c.done = std::move(done);
    if (marker) markers_in_flight_.insert(*marker);
    enqueue(box, std::move(c));
}

void MailboxWrites::move_to_trash(const store::MailboxRef& box, std::uint64_t message_id, std::int64_t now_unix,
                                  MailboxDone done) {
    Change c;
    c.kind = Kind::trash;
    c.message_id = message_id;
    c.now_unix = now_unix;
    c.done = std::move(done);
    enqueue(box, std::move(c));
}

void MailboxWrites::restore(const store::MailboxRef& box, std::uint64_t message_id, MailboxDone done) {
    Change c;
    c.kind = Kind::restore;
    c.message_id = message_id;
    c.done = std::move(done);
    enqueue(box, std::move(c));
}

void MailboxWrites::purge(const store::MailboxRef& box, std::int64_t now_unix, std::int64_t retention_s,
                          MailboxDone done) {
    Change c;
    c.kind = Kind::purge;
    c.now_unix = now_unix;
    c.retention_s = retention_s;
    c.done = std::move(done);
    enqueue(box, std::move(c));
}

void MailboxWrites::erase(const store::MailboxRef& box, std::size_t messages_max, MailboxDone done) {
    Change c;
    c.kind = Kind::erase;
    c.messages_max = messages_max;
    c.done = std::move(done);
    enqueue(box, std::move(c));
}

bool MailboxWrites::marker_in_flight(const store::DeliveryMarker& marker) const {
    return markers_in_flight_.contains(marker);
}

void MailboxWrites::enqueue(const store::MailboxRef& box, Change change) {
    VMX_ASSERT(store_.owns(box.segment));  // only the owner shard writes a segment
    Box& b = boxes_[box.user_id];
    b.ref = box;
    b.queue.push_back(std::move(change));
    if (!b.in_flight) pump(box.user_id);
}

// Loads the writer when absent (no change of the mailbox is in flight, as load() needs) and plans a
// change that reads the mailbox (every kind but an append), in one read transaction: on the shard,
// or on a store reader, whichever holds the writer meanwhile. nullopt: an append, whose writer is
// now loaded; it is planned on the shard (it reads nothing).
Result<std::optional<store::MailboxChange>> MailboxWrites::plan_read(const MailStoreView& view, const crypto::KeySet& keys,
                                                                     const store::MailboxRef& ref,
                                                                     std::optional<store::MailboxWriter>& writer,
                                                                     const Reading& change) {
    auto txn = store::ReadTxn::begin(*view.envs.env(ref.segment, store::SegmentKind::mail));
    if (!txn) return fail(txn.error());
    if (!writer) {
        auto loaded = store::MailboxWriter::load(*txn, view.handles.segment(ref.segment).mailboxes, keys, ref);
        if (!loaded) return fail(loaded.error());
        writer.emplace(std::move(*loaded));
    }
    if (change.kind == Kind::append) return std::optional<store::MailboxChange>{};
    Result<store::MailboxChange> planned = fail(store::StoreErrc::invalid_request);
    switch (change.kind) {
        case Kind::append: break;
        case Kind::trash: planned = writer->move_to_trash(*txn, keys, change.message_id, change.now_unix); break;
        case Kind::restore: planned = writer->restore(*txn, keys, change.message_id); break;
        case Kind::purge: planned = writer->purge(*txn, keys, change.now_unix, change.retention_s); break;
        case Kind::erase: planned = writer->erase(*txn, keys, change.messages_max); break;
    }
    if (!planned) return fail(planned.error());
    return std::optional<store::MailboxChange>(std::move(*planned));
}

MailboxWrites::Reading MailboxWrites::reading(const Change& change) {
    return {change.kind, change.message_id, change.now_unix, change.retention_s, change.messages_max};
}

// The ops of a queued change, on the shard. An append with its writer loaded reads nothing (the
// writer holds the state): no read transaction on delivery's hot path.
Result<store::MailboxChange> MailboxWrites::plan(Box& box, Change& change) {
    if (!box.writer || change.kind != Kind::append) {
        auto read = plan_read(store_view(store_), store_.keys(), box.ref, box.writer, reading(change));
        if (!read) return fail(read.error());
        if (*read) return std::move(**read);
    }
    const auto* data = reinterpret_cast<const std::uint8_t*>(change.body->data());
    auto planned = box.writer->append(store_.keys(), std::span(data, change.body->size()), change.options);
    if (planned && change.marker)
        planned->ops.push_back(store::marker_put_op(store_.segment(box.ref.segment).markers, *change.marker,
                                                    change.options.now_unix, planned->id));
    return planned;
}

void MailboxWrites::pump(std::uint64_t user_id) {
    auto it = boxes_.find(user_id);
    while (it != boxes_.end() && !it->second.in_flight && !it->second.reading) {
        Box& box = it->second;
        if (box.queue.empty()) {
            boxes_.erase(it);  // idle: the next change reloads the writer from a fresh snapshot
            return;
        }
        Change& change = box.queue.front();
        if (change.kind == Kind::append && hold_for_batch(user_id, box)) return;
        if (reads_ != nullptr && (!box.writer || change.kind != Kind::append)) return plan_off_shard(user_id, box);
        if (!take(user_id, box, plan(box, change))) return;
        it = boxes_.find(user_id);  // a callback may have queued more
    }
}

// A planned change (or its refusal) at the front of the box: to the lane. false: the mailbox waits
// (its change is in flight, or the lane is full).
bool MailboxWrites::take(std::uint64_t user_id, Box& box, Result<store::MailboxChange> planned) {
    Change& change = box.queue.front();
    if (!planned) {
        // Refused before anything was written (over quota, unknown message, unreadable state).
        fail_front(box, 1, planned.error());
        return true;
    }
    if (planned->ops.empty()) {
        // Nothing to write (a purge that found nothing due): done at once, nothing pending.
        Change nothing = std::move(change);
        box.queue.pop_front();
        if (nothing.done) nothing.done(std::uint64_t{0});
        return true;
    }
    std::vector<std::uint64_t> ids{change.kind == Kind::purge   ? planned->purged
                                   : change.kind == Kind::erase ? planned->remaining
                                                                : planned->id};
    if (change.kind == Kind::append) plan_appends(box, *planned, ids);
    store::WriteRequest request;
    request.env = store_.lane_env(box.ref.segment, store::SegmentKind::mail);
    request.ops = std::move(planned->ops);
    auto submitted = store_.submit(std::move(request), [this, user_id](const store::WriteResult& r) {
        finish(user_id, r);
    });
    if (!submitted) {
        box.writer->done(submitted.error());
        if (submitted.error() == store::StoreErrc::queue_full) {
            wait_for_lane(user_id, box);
            return false;
        }
        fail_front(box, ids.size(), submitted.error());
        return true;
    }
    box.in_flight = true;
    box.batch_due = false;
    box.in_flight_ids = std::move(ids);
    return false;
}

// A shared store: a store reader loads the writer and plans what reads the mailbox; the writer is
// the reader's until the answer, and the mailbox waits as if a change were in flight. Readers
// saturated: tried again shortly, as with a full lane.
void MailboxWrites::plan_off_shard(std::uint64_t user_id, Box& box) {
    auto writer = std::make_shared<std::optional<store::MailboxWriter>>(std::move(box.writer));
    box.writer.reset();
    box.reading = true;
    const bool queued = reads_->read(
        [view = store_view(store_), keys = store_.keys_snapshot(), ref = box.ref, writer,
         change = reading(box.queue.front())] { return plan_read(view, *keys, ref, *writer, change); },
        [this, user_id, writer](Result<std::optional<store::MailboxChange>> planned) {
            planned_off_shard(user_id, std::move(*writer), std::move(planned));
        });
    if (queued) return;
    box.reading = false;
    box.writer = std::move(*writer);
    wait_for_lane(user_id, box);
}

void MailboxWrites::planned_off_shard(std::uint64_t user_id, std::optional<store::MailboxWriter> writer,
                                      Result<std::optional<store::MailboxChange>> planned) {
    auto it = boxes_.find(user_id);
    if (it == boxes_.end()) return;
    Box& box = it->second;
    box.reading = false;
    box.writer = std::move(writer);
    if (planned && !*planned) return pump(user_id);  // an append's writer, loaded: planned on the shard
    const bool more = planned ? take(user_id, box, std::move(**planned)) : take(user_id, box, fail(planned.error()));
    if (more) pump(user_id);
}

// The lane is full (overload): the mailbox's changes stay queued, in order, and go again shortly. An
// overload is no reason to fail a delivery (that would wait for the queue's retry, minutes away).
void MailboxWrites::wait_for_lane(std::uint64_t user_id, Box& box) {
    ++stats_.lane_waits;
    if (box.waiting_lane) return;
    box.waiting_lane = true;
    store_.shard().schedule(lane_retry_ms, [this, user_id](Shard&) {
        auto it = boxes_.find(user_id);
        if (it == boxes_.end()) return;
        it->second.waiting_lane = false;
        pump(user_id);
    });
}

// An append at the front of an idle mailbox waits for the batch window (once); true when it waits.
bool MailboxWrites::hold_for_batch(std::uint64_t user_id, Box& box) {
    if (options_.append_batch_ms == 0 || box.batch_due) return false;
    if (!box.batching) {
        box.batching = true;
        batching_.push_back(user_id);
    }
    if (!batch_scheduled_) {
        batch_scheduled_ = true;
        store_.shard().schedule(options_.append_batch_ms, [this](Shard&) { release_batch(); });
    }
    return true;
}

void MailboxWrites::release_batch() {
    batch_scheduled_ = false;
    std::vector<std::uint64_t> due;
    due.swap(batching_);
    for (const std::uint64_t user_id : due) {
        auto it = boxes_.find(user_id);
        if (it == boxes_.end()) continue;
        it->second.batching = false;
        it->second.batch_due = true;
        pump(user_id);
    }
}

// The appends queued behind the first one join its request, each planned on the state the one
// before it leaves, until the group is full or a change is not an append. One that cannot be
// planned (over quota) stays queued and is planned again on its own after this group.
void MailboxWrites::plan_appends(Box& box, store::MailboxChange& first, std::vector<std::uint64_t>& ids) {
    std::size_t bytes = box.queue.front().body->size();
    for (std::size_t i = 1; i < box.queue.size() && ids.size() < append_group_max; ++i) {
        Change& next = box.queue[i];
        if (next.kind != Kind::append || bytes + next.body->size() > append_group_bytes_max) return;
        auto planned = plan(box, next);
        if (!planned) return;
        bytes += next.body->size();
        first.ops.insert(first.ops.end(), std::make_move_iterator(planned->ops.begin()),
                         std::make_move_iterator(planned->ops.end()));
        ids.push_back(planned->id);
    }
}

// Fails the first `count` changes of the box's queue: they leave the queue before any callback
// runs, since a callback may queue more changes or pump this mailbox again.
void MailboxWrites::fail_front(Box& box, std::size_t count, std::error_code error) {
    std::vector<Change> failed;
    for (std::size_t i = 0; i < count && !box.queue.empty(); ++i) {
        failed.push_back(std::move(box.queue.front()));
        box.queue.pop_front();
    }
    for (Change& change : failed) {
        if (change.marker) markers_in_flight_.erase(*change.marker);
        ++stats_.failed;
        if (change.done) change.done(fail(error));
    }
}

void MailboxWrites::finish(std::uint64_t user_id, const store::WriteResult& result) {
    auto it = boxes_.find(user_id);
    if (it == boxes_.end()) return;
    Box& box = it->second;
    box.in_flight = false;
    box.writer->done(result.error);
    const std::vector<std::uint64_t> ids = std::move(box.in_flight_ids);
    box.in_flight_ids.clear();
    // Another node changed this mailbox since the writer was loaded (a shared store): nothing was
    // written, so the same changes are planned again on what is committed now.
    if (result.error == store::StoreErrc::conflict && box.conflicts < conflict_retries_max) {
        ++box.conflicts;
        ++stats_.conflicts;
        box.writer.reset();
        return pump(user_id);
    }
    box.conflicts = 0;
    std::vector<Change> finished;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        finished.push_back(std::move(box.queue.front()));
        box.queue.pop_front();
    }
    // Reload from what was committed after a failure, and after an erase (its last step removes the
    // state record, which a later append must find absent and start afresh).
    const bool erased = !finished.empty() && finished.front().kind == Kind::erase;
    if (result.error || erased) box.writer.reset();
    for (std::size_t i = 0; i < finished.size(); ++i) report(finished[i], result.error, ids[i]);
    pump(user_id);
}

void MailboxWrites::report(Change& change, std::error_code error, std::uint64_t id) {
    if (change.marker) markers_in_flight_.erase(*change.marker);
    if (error) {
        ++stats_.failed;
    } else if (change.kind == Kind::append) {
        ++stats_.appended;
    } else if (change.kind == Kind::trash) {
        ++stats_.trashed;
    } else if (change.kind == Kind::purge) {
        stats_.purged += id;  // a purge reports how many it removed
    } else if (change.kind == Kind::erase) {
        ++stats_.erase_steps;
    } else {
        ++stats_.restored;
    }
    if (!change.done) return;
    if (error) change.done(fail(error));
    else change.done(id);
}

}  // namespace vmx
