// The environments one shard writes: every kind of every segment s with owner_shard(s, shards) ==
// shard, opened once at shard start (by the thread that builds the shard) and handed to its Lane as
// envs() in the order lane_index() gives. Owned here; must outlive the Lane. Reads from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/result.h"
#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx::store {

class ShardEnvironments {
public:
    static Result<ShardEnvironments> open(const StoreLayout& layout, std::uint32_t shard, std::uint32_t shards);

    // For Lane's constructor: index i is lane environment i.
    std::vector<Env*> envs() const;
    // The lane index of (segment, kind), or nothing when this shard does not own the segment.
    std::optional<std::uint32_t> lane_index(std::uint32_t segment, SegmentKind kind) const;
    Env* env(std::uint32_t segment, SegmentKind kind) const;
    const std::vector<std::uint32_t>& segments() const noexcept { return segments_; }

private:
    std::uint32_t shards_ = 1;
    std::vector<std::uint32_t> segments_;      // owned, ascending
    std::vector<std::unique_ptr<Env>> envs_;   // segments_[i] kind k at i * kinds + k
};

}  // namespace vmx::store
