// Reads of the queues for delivery (smtp-in local, smtp-out remote): a waiting entry's body read back before its retry,
// and the entries a restart finds still pending. Shard thread (the queue's owner). Writes to the
// queue stay with local delivery, which prepares them through store::Queue and submits them to the
// shard's lane.
#pragma once

#include <cstdint>
#include <functional>
#include <system_error>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"
#include "core/result.h"
#include "store/queue.h"

namespace vmx {

Result<std::vector<std::uint8_t>> load_queued_body(ShardStore& store, std::uint32_t segment, std::uint64_t entry_id,
                                                   store::QueueKind kind = store::QueueKind::smtp_in);

// Every entry of an owned segment's smtp-in queue with a recipient not yet done, in id order, read in
// batches of `batch` entries (one short read transaction each). An entry that does not open is
// handed to `unreadable` and left in place. Stops at the first read error, which it returns.
Result<void> for_each_pending(ShardStore& store, std::uint32_t segment, std::size_t batch,
                              const std::function<void(store::QueuedEntry&&)>& pending,
                              const std::function<void(std::uint64_t id, std::error_code)>& unreadable,
                              store::QueueKind kind = store::QueueKind::smtp_in);

// Whether a hand-off already reached its mailbox (its marker is there), read on the owner shard.
Result<bool> already_delivered(ShardStore& store, std::uint32_t segment, const store::DeliveryMarker& marker);
Result<bool> already_delivered(const MailStoreView& view, std::uint32_t segment, const store::DeliveryMarker& marker);

}  // namespace vmx
