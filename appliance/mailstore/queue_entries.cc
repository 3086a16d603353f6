// New queue entries and their count (see queue_entries.h).
#include "appliance/mailstore/queue_entries.h"

#include <fmt/format.h>

#include <span>

#include "core/log.h"
#include "store/errc.h"
#include "store/lmdb.h"
#include "store/segment_handles.h"

namespace vmx {

std::uint32_t queue_segment(const ShardStore& store) { return store.envs().segments().front(); }

std::string queue_id_of(std::uint32_t segment, std::uint64_t entry_id) {
    return fmt::format("{:02X}{:08X}", segment, entry_id);
}

std::string queue_id_of(store::QueueKind kind, std::uint32_t segment, std::uint64_t entry_id) {
    const std::string id = queue_id_of(segment, entry_id);
    return kind == store::QueueKind::smtp_out ? "O" + id : id;
}

void enqueue(ShardStore& store, store::QueueKind kind, const store::Envelope& envelope, const std::string& body,
             EnqueueDone on_done) {
    // Shared by the lane's callback and the refusal below: a submit the lane refuses never runs its
    // callback, and the client must still have its answer.
    auto done = std::make_shared<EnqueueDone>(std::move(on_done));
    const std::uint32_t segment = queue_segment(store);
    const bool inbound = kind == store::QueueKind::smtp_in;
    store::Queue& queue = inbound ? *store.segment(segment).smtp_in : *store.segment(segment).smtp_out;
    const auto* data = reinterpret_cast<const std::uint8_t*>(body.data());
    auto prepared = queue.prepare_enqueue(store.keys(), envelope, std::span(data, body.size()));
    if (!prepared) {
        log_event(LogLevel::warn, "queue.enqueue_refused", "queue={} error=\"{}\"", inbound ? "smtp-in" : "smtp-out",
                  prepared.error().message());
        return (*done)(EnqueueOutcome::failed, 0);
    }
    const std::uint64_t id = prepared->entry_id;
    store::WriteRequest request;
    request.env = store.lane_env(segment, inbound ? store::SegmentKind::smtp_in : store::SegmentKind::smtp_out);
    request.ops = std::move(prepared->ops);
    auto submitted = store.submit(std::move(request), [done, id, inbound, segment](const store::WriteResult& r) {
        if (!r.error) return (*done)(EnqueueOutcome::stored, id);
        log_event(LogLevel::warn, "queue.enqueue_failed", "queue={} queue_id={} error=\"{}\"", inbound ? "smtp-in" : "smtp-out",
                  queue_id_of(segment, id), r.error.message());
        // No room (the map at its maximum, or the file system full): 452 4.3.1, not a 451 that hides it.
        const bool full = r.error == store::StoreErrc::map_full || r.error == store::StoreErrc::disk_full;
        (*done)(full ? EnqueueOutcome::full : EnqueueOutcome::failed, id);
    });
    if (!submitted) {
        log_event(LogLevel::warn, "queue.enqueue_refused", "queue={} error=\"{}\"", inbound ? "smtp-in" : "smtp-out",
                  submitted.error().message());
        (*done)(EnqueueOutcome::full, 0);
    }
}

Result<std::size_t> count_entries(ShardStore& store, store::QueueKind kind) {
    constexpr std::size_t page = 10000;
    const bool inbound = kind == store::QueueKind::smtp_in;
    std::size_t count = 0;
    for (std::uint32_t segment : store.envs().segments()) {
        const store::Queue& queue = inbound ? *store.segment(segment).smtp_in : *store.segment(segment).smtp_out;
        store::Env& env = *store.envs().env(segment, inbound ? store::SegmentKind::smtp_in : store::SegmentKind::smtp_out);
        std::uint64_t after = 0;
        for (;;) {
            auto txn = store::ReadTxn::begin(env);
            if (!txn) return fail(txn.error());
            auto ids = queue.list(*txn, after, page);
            if (!ids) return fail(ids.error());
            count += ids->size();
            if (ids->size() < page) break;
            after = ids->back();
        }
    }
    return count;
}

}  // namespace vmx
