// The rewrap walks of a shard's environments (see rewrap_walks.h).
#include "appliance/mailstore/rewrap_walks.h"

#include "store/queue.h"
#include "store/segment_handles.h"

namespace vmx {

std::vector<RewrapWalk> rewrap_walks(ShardStore& store, const std::string& name,
                                     const std::function<store::ScopeOf(store::SegmentKind)>& scope_of) {
    std::vector<RewrapWalk> walks;
    for (std::uint32_t segment : store.envs().segments()) {
        store::SegmentHandles& h = store.segment(segment);
        auto add = [&](store::SegmentKind kind, store::Dbi data, store::Dbi state, crypto::StoreKind sealed_as) {
            store::Env& env = *store.envs().env(segment, kind);
            walks.push_back({segment, kind,
                             std::make_unique<store::RewrapJob>(env, data, state, sealed_as, segment, name, scope_of(kind))});
        };
        add(store::SegmentKind::mail, h.mailboxes, h.rewrap_mail, crypto::StoreKind::mail);
        add(store::SegmentKind::temp, h.temp->records(), h.rewrap_temp, crypto::StoreKind::temp);
        add(store::SegmentKind::smtp_in, h.smtp_in->records(), h.rewrap_smtp_in, crypto::StoreKind::smtp_in);
        add(store::SegmentKind::smtp_out, h.smtp_out->records(), h.rewrap_smtp_out, crypto::StoreKind::smtp_out);
    }
    return walks;
}

}  // namespace vmx
