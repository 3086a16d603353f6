// Mailbox changes through the store lane (see mailbox_writes.h).
#include "appliance/mailbox_writes.h"

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

// The ops of the change at the front of the box's queue, loading the writer when needed.
Result<store::MailboxChange> MailboxWrites::plan(Box& box, Change& change) {
    const SegmentHandles& h = store_.segment(box.ref.segment);
    store::Env& env = *store_.envs().env(box.ref.segment, store::SegmentKind::mail);
    auto txn = store::ReadTxn::begin(env);
    if (!txn) return fail(txn.error());
    if (!box.writer) {
        auto writer = store::MailboxWriter::load(*txn, h.mailboxes, store_.keys(), box.ref);
        if (!writer) return fail(writer.error());
        box.writer.emplace(std::move(*writer));
    }
    switch (change.kind) {
        case Kind::append: {
            const auto* data = reinterpret_cast<const std::uint8_t*>(change.body->data());
            auto planned = box.writer->append(store_.keys(), std::span(data, change.body->size()), change.options);
            if (planned && change.marker)
                planned->ops.push_back(store::marker_put_op(h.markers, *change.marker, change.options.now_unix, planned->id));
            return planned;
        }
        case Kind::trash: return box.writer->move_to_trash(*txn, store_.keys(), change.message_id, change.now_unix);
        case Kind::restore: return box.writer->restore(*txn, store_.keys(), change.message_id);
        case Kind::purge: return box.writer->purge(*txn, store_.keys(), change.now_unix, change.retention_s);
    }
    return fail(store::StoreErrc::invalid_request);
}

void MailboxWrites::pump(std::uint64_t user_id) {
    auto it = boxes_.find(user_id);
    while (it != boxes_.end() && !it->second.in_flight) {
        Box& box = it->second;
        if (box.queue.empty()) {
            boxes_.erase(it);  // idle: the next change reloads the writer from a fresh snapshot
            return;
        }
        Change& change = box.queue.front();
        auto planned = plan(box, change);
        if (!planned) {
            // Refused before anything was written (over quota, unknown message, unreadable state).
            Change failed = std::move(change);
            box.queue.pop_front();
            if (failed.marker) markers_in_flight_.erase(*failed.marker);
            ++stats_.failed;
            if (failed.done) failed.done(fail(planned.error()));
            it = boxes_.find(user_id);  // the callback may have queued more
            continue;
        }
        if (planned->ops.empty()) {
            // Nothing to write (a purge that found nothing due): done at once, nothing pending.
            Change nothing = std::move(change);
            box.queue.pop_front();
            if (nothing.done) nothing.done(std::uint64_t{0});
            it = boxes_.find(user_id);
            continue;
        }
        store::WriteRequest request;
        request.env = store_.lane_env(box.ref.segment, store::SegmentKind::mail);
        request.ops = std::move(planned->ops);
        const std::uint64_t message_id = change.kind == Kind::purge ? planned->purged : planned->id;
        auto submitted = store_.submit(std::move(request), [this, user_id, message_id](const store::WriteResult& r) {
            store::WriteResult with_id = r;
            with_id.count = message_id;
            finish(user_id, with_id);
        });
        if (!submitted) {
            box.writer->done(submitted.error());
            Change failed = std::move(change);
            box.queue.pop_front();
            if (failed.marker) markers_in_flight_.erase(*failed.marker);
            ++stats_.failed;
            if (failed.done) failed.done(fail(submitted.error()));
            it = boxes_.find(user_id);
            continue;
        }
        box.in_flight = true;
    }
}

void MailboxWrites::finish(std::uint64_t user_id, const store::WriteResult& result) {
    auto it = boxes_.find(user_id);
    if (it == boxes_.end()) return;
    Box& box = it->second;
    box.in_flight = false;
    box.writer->done(result.error);
    Change change = std::move(box.queue.front());
    box.queue.pop_front();
    if (change.marker) markers_in_flight_.erase(*change.marker);
    if (result.error) {
        ++stats_.failed;
        box.writer.reset();  // reload from what was committed
    } else if (change.kind == Kind::append) {
        ++stats_.appended;
    } else if (change.kind == Kind::trash) {
        ++stats_.trashed;
    } else if (change.kind == Kind::purge) {
        stats_.purged += result.count;
    } else {
        ++stats_.restored;
    }
    if (change.done) {
        if (result.error) change.done(fail(result.error));
        else change.done(result.count);
    }
    pump(user_id);
}

}  // namespace vmx
