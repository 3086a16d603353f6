// ShardStore: the store side of one shard (part of its ShardContext). It opens the environments of the
// segments the shard owns, runs their store lane (group commit with sync), hands each write's
// outcome back to the caller's callback on the shard thread, and sweeps expired temp records on a
// timer through lane tasks. Built and used on the shard thread only; the lane thread writes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "core/shard.h"
#include "crypto/keyring.h"
#include "store/lane.h"
#include "store/layout.h"
#include "store/shard_envs.h"
#include "store/temp_store.h"
#include "store/segment_handles.h"

namespace vmx {

struct ShardStoreOptions {
    store::LaneOptions lane;
    std::uint64_t sweep_interval_ms = 300'000;  // 0: no periodic sweep
    std::size_t sweep_records_max = 4096;       // per lane task, so a sweep never holds the writer long
};

// A write's outcome: empty error when durable.
using WriteDone = std::function<void(const store::WriteResult&)>;

// Counters; relaxed loads from other threads (stats, tests).
struct ShardStoreStats {
    std::atomic<std::uint64_t> temp_swept{0};
    std::atomic<std::uint64_t> sweeps{0};
    std::atomic<std::uint64_t> sweep_failures{0};
};

class ShardStore {
public:
    // Takes the shard's view of the environments, starts the lane and arms the shard's watch on
    // its completions. On the shard thread, during Shard::setup.
    static Result<std::unique_ptr<ShardStore>> open(Shard& shard, const store::StoreEnvironments& all,
                                                    store::StoreHandles& handles, const ShardStoreOptions& options,
                                                    std::shared_ptr<const crypto::KeySet> keys);
    ~ShardStore();  // the lane commits what is queued and joins first
    ShardStore(const ShardStore&) = delete;
    ShardStore& operator=(const ShardStore&) = delete;

    // Queues a write; `done` runs on the shard thread with its outcome. queue_full or
    // invalid_request as Lane::submit (then `done` never runs).
    Result<void> submit(store::WriteRequest request, WriteDone done);

    // Starts one sweep of every owned segment's temp records expired at now_unix (one lane task per
    // segment, repeated while a task removes sweep_records_max). A sweep already running is left alone.
    void sweep_temp(std::int64_t now_unix);

    // Takes a new key snapshot (from the control thread's message) and wipes this thread's cached
    // HKDF extracts, so a destroyed key does not live on in the cache.
    void set_keys(std::shared_ptr<const crypto::KeySet> keys);
    const crypto::KeySet& keys() const noexcept { return *keys_; }
    std::shared_ptr<const crypto::KeySet> keys_snapshot() const noexcept { return keys_; }

    const store::ShardEnvironments& envs() const noexcept { return envs_; }
    // Every segment's environments, for reads of segments other shards own.
    const store::StoreEnvironments& all_envs() const noexcept { return all_; }
    // Any segment's databases (reads); write only those of segments this shard owns.
    store::SegmentHandles& segment(std::uint32_t s) noexcept { return handles_.segment(s); }
    std::uint32_t segment_count() const noexcept { return handles_.segments(); }
    const store::StoreHandles& handles() const noexcept { return handles_; }
    bool owns(std::uint32_t s) const noexcept { return envs_.lane_index(s, store::SegmentKind::mail).has_value(); }
    // The lane index of an owned segment's environment.
    std::uint32_t lane_env(std::uint32_t s, store::SegmentKind kind) const { return *envs_.lane_index(s, kind); }
    const store::LaneStats& lane_stats() const noexcept { return lane_->stats(); }
    Shard& shard() noexcept { return shard_; }
    const ShardStoreStats& stats() const noexcept { return stats_; }
    std::size_t in_flight() const noexcept { return waiting_.size(); }

private:
    ShardStore(Shard& shard, const store::StoreEnvironments& all, store::StoreHandles& handles,
               const ShardStoreOptions& options, std::shared_ptr<const crypto::KeySet> keys);
    void on_lane_readable();
    void sweep_segment(std::size_t index, std::int64_t now_unix);
    void schedule_sweep();

    Shard& shard_;
    const ShardStoreOptions options_;
    const store::StoreEnvironments& all_;
    store::ShardEnvironments envs_;
    std::shared_ptr<const crypto::KeySet> keys_;
    store::StoreHandles& handles_;
    std::vector<bool> sweeping_;                            // by position in envs_.segments()
    std::unique_ptr<store::Lane> lane_;                     // after envs_: destroyed before them
    std::unordered_map<std::uint64_t, WriteDone> waiting_;  // by lane token
    std::uint64_t next_token_ = 1;
    ShardStoreStats stats_;
};

}  // namespace vmx
