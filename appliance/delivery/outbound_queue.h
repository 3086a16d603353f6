// Submitted mail for remote recipients (and bounces to remote senders): written once, sealed, to the
// accepting shard's smtp-out queue (the client's 250 waits for that write to be durable), then
// handed to the shard's delivery agent, which sends it. Shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "appliance/delivery/delivery_agent.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/mailstore/shard_store.h"
#include "store/envelope.h"

namespace vmx {

class OutboundQueue {
public:
    OutboundQueue(ShardStore& store, DeliveryAgent& agent) : store_(store), agent_(agent) {}

    // The queue id the next accepted message will get on this shard (for its Received: header).
    std::string next_queue_id() const;
    // Writes the message to this shard's smtp-out queue; `done` runs exactly once, as for
    // LocalDelivery::accept. Queue ids start with "O" so they never look like an smtp-in entry's.
    void accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                std::function<void(AcceptOutcome, const std::string& queue_id)> done);
    // Hands what the owned smtp-out queues hold to the agent (call once, at the first loop turn).
    void recover() { agent_.recover(); }

    const OutboundStats& stats() const noexcept { return agent_.stats(); }

private:
    ShardStore& store_;
    DeliveryAgent& agent_;
};

}  // namespace vmx
