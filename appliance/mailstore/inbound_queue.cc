// smtp-in queue reads for local delivery (see inbound_queue.h).
#include "appliance/mailstore/inbound_queue.h"

#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {

namespace {

store::SegmentKind env_kind(store::QueueKind kind) {
    return kind == store::QueueKind::smtp_in ? store::SegmentKind::smtp_in : store::SegmentKind::smtp_out;
}

const store::Queue& queue_of(ShardStore& store, std::uint32_t segment, store::QueueKind kind) {
    return kind == store::QueueKind::smtp_in ? *store.segment(segment).smtp_in : *store.segment(segment).smtp_out;
}

}  // namespace

Result<std::vector<std::uint8_t>> load_queued_body(ShardStore& store, std::uint32_t segment, std::uint64_t entry_id,
                                                   store::QueueKind kind) {
    auto txn = store::ReadTxn::begin(*store.envs().env(segment, env_kind(kind)));
    if (!txn) return fail(txn.error());
    return queue_of(store, segment, kind).load_body(*txn, store.keys(), entry_id);
}

Result<void> for_each_pending(ShardStore& store, std::uint32_t segment, std::size_t batch,
                              const std::function<void(store::QueuedEntry&&)>& pending,
                              const std::function<void(std::uint64_t id, std::error_code)>& unreadable,
                              store::QueueKind kind) {
    const store::Queue& queue = queue_of(store, segment, kind);
    store::Env& env = *store.envs().env(segment, env_kind(kind));
    std::uint64_t after = 0;
    for (;;) {
        auto txn = store::ReadTxn::begin(env);
        if (!txn) return fail(txn.error());
        auto found = store::recover(queue, *txn, store.keys(), after, batch);
        if (!found) return fail(found.error());
        for (const auto& [id, error] : found->failed) unreadable(id, error);
        for (store::QueuedEntry& entry : found->entries) pending(std::move(entry));
        after = found->last_id;
        if (found->complete) return {};
    }
}

Result<bool> already_delivered(const MailStoreView& view, std::uint32_t segment, const store::DeliveryMarker& marker) {
    auto txn = store::ReadTxn::begin(*view.envs.env(segment, store::SegmentKind::mail));
    if (!txn) return fail(txn.error());
    return store::already_delivered(*txn, view.handles.segment(segment).markers, marker);
}

Result<bool> already_delivered(ShardStore& store, std::uint32_t segment, const store::DeliveryMarker& marker) {
    return already_delivered(store_view(store), segment, marker);
}

}  // namespace vmx
