// The segment environments of a running instance. StoreEnvironments opens every kind of every
// segment once per process (LMDB allows one open per environment per process) and owns them; any
// thread may read any of them (ReadTxn: MVCC, no locks), so a shard can look at a segment it does
// not own (a recipient's quota, a mailbox on another shard). ShardEnvironments is one shard's view:
// the environments of the segments it owns (owner_shard(s, shards) == shard), which it alone writes
// through its Lane, in the order lane_index() gives: the queues of every owned segment first, then
// the mailboxes, then the temp stores. The lane commits its environments in that order on each
// turn, so a client waiting for the 250 of a queue write never waits behind the mailbox commits of
// the same turn. Both are built before the shards start and are
// immutable afterwards; StoreEnvironments must outlive every view and lane.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/result.h"
#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx::store {

class StoreEnvironments {
public:
    static Result<StoreEnvironments> open(const StoreLayout& layout);

    std::uint32_t segments() const noexcept { return segments_; }
    // This node's number in a shared store (StoreLayout::node); 0 on one box.
    std::uint32_t node() const noexcept { return node_; }
    Env* env(std::uint32_t segment, SegmentKind kind) const noexcept;

private:
    std::uint32_t segments_ = 0;
    std::uint32_t node_ = 0;
    std::vector<std::unique_ptr<Env>> envs_;  // segment s kind k at s * kinds + k
};

class ShardEnvironments {
public:
    static ShardEnvironments view(const StoreEnvironments& all, std::uint32_t shard, std::uint32_t shards);

    // For Lane's constructor: index i is lane environment i.
    const std::vector<Env*>& envs() const noexcept { return envs_; }
    // The lane index of (segment, kind), or nothing when this shard does not own the segment.
    std::optional<std::uint32_t> lane_index(std::uint32_t segment, SegmentKind kind) const;
    // An owned segment's environment, or nullptr for a segment of another shard.
    Env* env(std::uint32_t segment, SegmentKind kind) const;
    const std::vector<std::uint32_t>& segments() const noexcept { return segments_; }

private:
    std::vector<std::uint32_t> segments_;  // owned, ascending
    std::vector<Env*> envs_;               // kind k of segments_[i] at rank(k) * segments_.size() + i
};

}  // namespace vmx::store
