// The smtp-out queue's front (see outbound_queue.h).
#include "appliance/delivery/outbound_queue.h"

#include "appliance/mailstore/queue_entries.h"
#include "store/segment_handles.h"

namespace vmx {

std::string OutboundQueue::next_queue_id() const {
    const std::uint32_t segment = queue_segment(store_);
    return queue_id_of(store::QueueKind::smtp_out, segment, store_.segment(segment).smtp_out->next_id());
}

void OutboundQueue::accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                           std::function<void(AcceptOutcome, const std::string&)> done) {
    const std::uint32_t segment = queue_segment(store_);
    auto kept = std::make_shared<store::Envelope>(std::move(envelope));
    const std::string& bytes = *body;  // taken before `body` moves into the completion
    enqueue(store_, store::QueueKind::smtp_out, *kept, bytes,
            [this, segment, kept, body = std::move(body), done = std::move(done)](EnqueueOutcome outcome, std::uint64_t id) {
                const std::string queue_id = id == 0 ? std::string() : queue_id_of(store::QueueKind::smtp_out, segment, id);
                if (outcome != EnqueueOutcome::stored)
                    return done(outcome == EnqueueOutcome::full ? AcceptOutcome::full : AcceptOutcome::failed, queue_id);
                agent_.count_accepted();
                done(AcceptOutcome::stored, queue_id);
                agent_.add(segment, id, std::move(*kept), body);
            });
}

}  // namespace vmx
