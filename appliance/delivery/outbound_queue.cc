// The smtp-out queue of submitted mail (see outbound_queue.h).
#include "appliance/delivery/outbound_queue.h"

#include "appliance/mailstore/queue_entries.h"
#include "core/log.h"
#include "store/segment_handles.h"

namespace vmx {

std::string OutboundQueue::next_queue_id() const {
    const std::uint32_t segment = queue_segment(store_);
    return queue_id_of(store::QueueKind::smtp_out, segment, store_.segment(segment).smtp_out->next_id());
}

void OutboundQueue::accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                           std::function<void(AcceptOutcome, const std::string&)> done) {
    const std::uint32_t segment = queue_segment(store_);
    enqueue(store_, store::QueueKind::smtp_out, envelope, *body,
            [this, segment, body, done = std::move(done)](EnqueueOutcome outcome, std::uint64_t id) {
                const std::string queue_id = id == 0 ? std::string() : queue_id_of(store::QueueKind::smtp_out, segment, id);
                if (outcome == EnqueueOutcome::stored) {
                    ++stats_.accepted;
                    ++stats_.queued;
                    return done(AcceptOutcome::stored, queue_id);
                }
                done(outcome == EnqueueOutcome::full ? AcceptOutcome::full : AcceptOutcome::failed, queue_id);
            });
}

void OutboundQueue::recover() {
    auto count = count_entries(store_, store::QueueKind::smtp_out);
    if (!count) {
        log_event(LogLevel::error, "outbound.count_failed", "error=\"{}\"", count.error().message());
        return;
    }
    stats_.queued.fetch_add(*count, std::memory_order_relaxed);
    if (*count > 0) log_event(LogLevel::info, "outbound.waiting", "entries={} (sent once outbound delivery runs)", *count);
}

}  // namespace vmx
