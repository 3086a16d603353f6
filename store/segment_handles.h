// The databases inside every segment's environments, opened once by the main thread before the
// shards start (opening a database writes, so it must happen while nothing else writes): each
// segment's mailboxes, delivery markers, smtp-in and smtp-out queues and temp store. Afterwards any shard may read
// through any of them; only the segment's owner shard writes (through its store lane), and only the
// owner touches a Queue's or TempStore's id counters.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "store/lmdb.h"
#include "store/queue.h"
#include "store/shard_envs.h"
#include "store/temp_store.h"

namespace vmx::store {

struct SegmentHandles {
    std::uint32_t segment = 0;
    Dbi mailboxes;
    DeliveryMarkers markers;
    std::unique_ptr<Queue> smtp_in;
    std::unique_ptr<Queue> smtp_out;   // submitted mail for remote recipients
    std::unique_ptr<TempStore> temp;
    // Where a rewrap job keeps its position, one database per environment it walks.
    Dbi rewrap_mail;
    Dbi rewrap_temp;
    Dbi rewrap_smtp_in;
    Dbi rewrap_smtp_out;
};

class StoreHandles {
public:
    static Result<StoreHandles> open(const StoreEnvironments& envs, const TempOptions& temp_options);
    SegmentHandles& segment(std::uint32_t s) noexcept { return segments_[s]; }
    const SegmentHandles& segment(std::uint32_t s) const noexcept { return segments_[s]; }
    std::uint32_t segments() const noexcept { return static_cast<std::uint32_t>(segments_.size()); }

private:
    std::vector<SegmentHandles> segments_;
};

}  // namespace vmx::store
