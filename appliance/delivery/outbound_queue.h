// Submitted mail for remote recipients: written once, sealed, to the accepting shard's smtp-out
// queue (the client's 250 waits for that write to be durable). The outbound delivery agent sends
// from there; until it runs, entries wait in smtp-out and are counted. Shard thread only; the
// counters are read by the control thread (vaultmx stats) with relaxed loads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "appliance/common/counters.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/mailstore/shard_store.h"
#include "store/envelope.h"

namespace vmx {

struct OutboundStats {
    std::atomic<std::uint64_t> accepted{0};  // messages durably queued for remote recipients
    std::atomic<std::uint64_t> queued{0};    // entries in this shard's smtp-out queues now

    void list(CounterSnapshot& out) const {
        out.add("outbound.accepted", accepted);
        out.add("outbound.queued", queued);
    }
};

class OutboundQueue {
public:
    explicit OutboundQueue(ShardStore& store) : store_(store) {}

    // The queue id the next accepted message will get on this shard (for its Received: header).
    std::string next_queue_id() const;
    // Writes the message to this shard's smtp-out queue; `done` runs exactly once, as for
    // LocalDelivery::accept. Queue ids start with "O" so they never look like an smtp-in entry's.
    void accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                std::function<void(AcceptOutcome, const std::string& queue_id)> done);
    // Counts what the owned smtp-out queues hold (call once, at the first loop turn).
    void recover();

    const OutboundStats& stats() const noexcept { return stats_; }

private:
    ShardStore& store_;
    OutboundStats stats_;
};

}  // namespace vmx
