// Reads and removals of delivery markers for the marker clean-up (appliance/jobs/marker_cleanup.h):
// which markers of a page are dead (their queue entry is gone), and their removal through the lane.
// Shard thread; a segment's markers are removed only by the shard that owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"
#include "core/result.h"
#include "store/queue.h"

namespace vmx {

struct MarkerPageVerdict {
    std::vector<store::DeliveryMarker> dead;      // their entry is gone: remove them
    std::size_t kept = 0;                         // still needed
    std::optional<store::DeliveryMarker> resume;  // the next page starts here; nullopt at the end
};

// One page (at most `max` markers from `from`) of an owned segment's markers, each checked against
// its queue. The queues are read in transactions begun after the markers' one, so a marker whose
// entry still exists always finds it (the entry was durable before its first hand-off).
// Any thread (a shared store's reader reads it off the shard).
Result<MarkerPageVerdict> find_dead_markers(const MailStoreView& view, std::uint32_t segment,
                                            std::optional<store::DeliveryMarker> from, std::size_t max);

// Removes markers of an owned segment in one lane request; `done` as ShardStore::submit's.
Result<void> remove_markers(ShardStore& store, std::uint32_t segment, const std::vector<store::DeliveryMarker>& dead,
                            WriteDone done);

}  // namespace vmx
