// Delivery-marker reads and removals (see delivery_markers.h).
#include "appliance/mailstore/delivery_markers.h"

#include <map>

#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {

Result<MarkerPageVerdict> find_dead_markers(const MailStoreView& view, std::uint32_t segment,
                                            std::optional<store::DeliveryMarker> from, std::size_t max) {
    std::vector<store::DeliveryMarker> page;
    std::optional<store::DeliveryMarker> resume;
    {
        auto txn = store::ReadTxn::begin(*view.envs.env(segment, store::SegmentKind::mail));
        if (!txn) return fail(txn.error());
        auto listed = store::list_markers(*txn, view.handles.segment(segment).markers, from, max);
        if (!listed) return fail(listed.error());
        page = std::move(listed->markers);
        resume = listed->resume;
    }
    MarkerPageVerdict verdict;
    verdict.resume = resume;
    std::map<std::uint32_t, store::ReadTxn> queues;  // one snapshot per queue segment, begun now
    for (const store::DeliveryMarker& m : page) {
        // Only smtp-in entries are handed off to mailboxes today; a marker of another queue kind is
        // kept (never removed by guesswork).
        // So is another node's: its entry is in that node's own queue, which this one cannot see.
        if (m.queue != store::QueueKind::smtp_in || m.segment >= view.segments() || m.node != view.envs.node()) {
            ++verdict.kept;
            continue;
        }
        auto it = queues.find(m.segment);
        if (it == queues.end()) {
            auto txn = store::ReadTxn::begin(*view.envs.env(m.segment, store::SegmentKind::smtp_in));
            if (!txn) return fail(txn.error());
            it = queues.emplace(m.segment, std::move(*txn)).first;
        }
        auto queued = view.handles.segment(m.segment).smtp_in->contains(it->second, m.entry_id);
        if (!queued) return fail(queued.error());
        if (*queued) ++verdict.kept;
        else verdict.dead.push_back(m);
    }
    return verdict;
}

Result<void> remove_markers(ShardStore& store, std::uint32_t segment, const std::vector<store::DeliveryMarker>& dead,
                            WriteDone done) {
    store::WriteRequest request;
    request.env = store.lane_env(segment, store::SegmentKind::mail);
    request.ops.reserve(dead.size());
    const store::DeliveryMarkers& markers = store.segment(segment).markers;
    for (const store::DeliveryMarker& m : dead) request.ops.push_back(store::marker_erase_op(markers, m));
    return store.submit(std::move(request), std::move(done));
}

}  // namespace vmx
