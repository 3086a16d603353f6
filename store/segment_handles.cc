// Segment databases (see segment_handles.h).
#include "store/segment_handles.h"

#include "store/mailbox.h"

namespace vmx::store {

Result<StoreHandles> StoreHandles::open(const StoreEnvironments& envs, const TempOptions& temp_options) {
    StoreHandles out;
    for (std::uint32_t s = 0; s < envs.segments(); ++s) {
        SegmentHandles h;
        h.segment = s;
        Env& mail = *envs.env(s, SegmentKind::mail);
        auto mailboxes = open_mailbox_dbi(mail);
        if (!mailboxes) return fail(mailboxes.error());
        h.mailboxes = *mailboxes;
        auto markers = DeliveryMarkers::open(mail);
        if (!markers) return fail(markers.error());
        h.markers = *markers;
        auto queue = Queue::open(*envs.env(s, SegmentKind::smtp_in), QueueKind::smtp_in, s);
        if (!queue) return fail(queue.error());
        h.smtp_in = std::make_unique<Queue>(std::move(*queue));
        auto out_queue = Queue::open(*envs.env(s, SegmentKind::smtp_out), QueueKind::smtp_out, s);
        if (!out_queue) return fail(out_queue.error());
        h.smtp_out = std::make_unique<Queue>(std::move(*out_queue));
        auto temp = TempStore::open(*envs.env(s, SegmentKind::temp), s, temp_options);
        if (!temp) return fail(temp.error());
        h.temp = std::make_unique<TempStore>(std::move(*temp));
        auto rm = mail.open_dbi("rewrap");
        auto rt = envs.env(s, SegmentKind::temp)->open_dbi("rewrap");
        auto rq = envs.env(s, SegmentKind::smtp_in)->open_dbi("rewrap");
        auto ro = envs.env(s, SegmentKind::smtp_out)->open_dbi("rewrap");
        if (!rm) return fail(rm.error());
        if (!rt) return fail(rt.error());
        if (!rq) return fail(rq.error());
        if (!ro) return fail(ro.error());
        h.rewrap_mail = *rm;
        h.rewrap_temp = *rt;
        h.rewrap_smtp_in = *rq;
        h.rewrap_smtp_out = *ro;
        out.segments_.push_back(std::move(h));
    }
    return out;
}

}  // namespace vmx::store
