// ShardStore: see shard_store.h.
#include "appliance/mailstore/shard_store.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/log.h"
#include "crypto/hkdf.h"

namespace vmx {

Result<std::unique_ptr<ShardStore>> ShardStore::open(Shard& shard, const store::StoreEnvironments& all,
                                                     store::StoreHandles& handles, const ShardStoreOptions& options,
                                                     std::shared_ptr<const crypto::KeySet> keys) {
    std::unique_ptr<ShardStore> out(new ShardStore(shard, all, handles, options, std::move(keys)));
    out->sweeping_.assign(out->envs_.segments().size(), false);
    store::LaneOptions lane = options.lane;
    lane.thread_name = fmt::format("vmx-lane-{}", shard.id());
    out->lane_ = std::make_unique<store::Lane>(out->envs_.envs(), lane);
    if (auto started = out->lane_->start(); !started) return fail(started.error());
    ShardStore* self = out.get();
    shard.watch_readable(out->lane_->result_fd(), [self](Shard&) { self->on_lane_readable(); });
    out->schedule_sweep();
    return out;
}

ShardStore::ShardStore(Shard& shard, const store::StoreEnvironments& all, store::StoreHandles& handles,
                       const ShardStoreOptions& options, std::shared_ptr<const crypto::KeySet> keys)
    : shard_(shard), options_(options), all_(all),
      envs_(store::ShardEnvironments::view(all, shard.id(), shard.shard_count())), keys_(std::move(keys)),
      handles_(handles) {}

void ShardStore::set_keys(std::shared_ptr<const crypto::KeySet> keys) {
    keys_ = std::move(keys);
    crypto::hkdf_prk_cache_clear();
}

ShardStore::~ShardStore() { lane_.reset(); }

Result<void> ShardStore::submit(store::WriteRequest request, WriteDone done) {
    request.token = next_token_++;
    const std::uint64_t token = request.token;
    if (auto r = lane_->submit(request); !r) return r;
    waiting_.emplace(token, std::move(done));
    return {};
}

// The watch's callback: clear the eventfd, then hand out every outcome. A callback may submit.
void ShardStore::on_lane_readable() {
    lane_->acknowledge_wake();
    lane_->drain_results([this](store::WriteResult&& result) {
        auto it = waiting_.find(result.token);
        if (it == waiting_.end()) return;
        WriteDone done = std::move(it->second);
        waiting_.erase(it);
        if (done) done(result);
    });
}

void ShardStore::sweep_temp(std::int64_t now_unix) {
    for (std::size_t i = 0; i < sweeping_.size(); ++i)
        if (!sweeping_[i]) sweep_segment(i, now_unix);
}

void ShardStore::sweep_segment(std::size_t index, std::int64_t now_unix) {
    const std::uint32_t segment = envs_.segments()[index];
    const auto lane_index = envs_.lane_index(segment, store::SegmentKind::temp);
    store::TempStore* temp = handles_.segment(segment).temp.get();
    const std::size_t max = options_.sweep_records_max;
    store::WriteRequest request;
    request.env = *lane_index;
    // The task runs on the lane thread; it touches only the temp store's databases, never the id
    // counter the shard uses for new records.
    request.task = [temp, now_unix, max](store::WriteTxn& txn) -> Result<std::uint64_t> {
        auto swept = temp->sweep(txn, now_unix, max);
        if (!swept) return fail(swept.error());
        return *swept;
    };
    sweeping_[index] = true;
    auto submitted = submit(std::move(request), [this, index, segment, now_unix](const store::WriteResult& r) {
        sweeping_[index] = false;
        stats_.sweeps.fetch_add(1, std::memory_order_relaxed);
        if (r.error) {
            stats_.sweep_failures.fetch_add(1, std::memory_order_relaxed);
            log_event(LogLevel::warn, "store.temp_sweep_failed", "segment={} error=\"{}\"", segment, r.error.message());
            return;
        }
        stats_.temp_swept.fetch_add(r.count, std::memory_order_relaxed);
        if (r.count > 0) log_event(LogLevel::info, "store.temp_swept", "segment={} records={}", segment, r.count);
        if (r.count >= options_.sweep_records_max) sweep_segment(index, now_unix);  // more are waiting
    });
    if (!submitted) {
        sweeping_[index] = false;  // the queue is full of real work: the next period tries again
        stats_.sweep_failures.fetch_add(1, std::memory_order_relaxed);
    }
}

void ShardStore::schedule_sweep() {
    if (options_.sweep_interval_ms == 0) return;
    shard_.schedule(options_.sweep_interval_ms, [this](Shard&) {
        sweep_temp(static_cast<std::int64_t>(std::time(nullptr)));
        schedule_sweep();
    });
}

}  // namespace vmx
