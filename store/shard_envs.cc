// Segment environments (see shard_envs.h).
#include "store/shard_envs.h"

#include <algorithm>

#include "core/assert.h"

namespace vmx::store {
namespace {

constexpr std::uint32_t kKinds = static_cast<std::uint32_t>(segment_kinds.size());

// The lane's commit order by kind: what a client waits on (the queues) before what it does not.
constexpr std::array<SegmentKind, kKinds> lane_order{SegmentKind::smtp_in, SegmentKind::smtp_out, SegmentKind::mail,
                                                    SegmentKind::temp};

std::uint32_t lane_rank(SegmentKind kind) {
    for (std::uint32_t r = 0; r < kKinds; ++r)
        if (lane_order[r] == kind) return r;
    VMX_ASSERT(false);
    return 0;
}

}  // namespace

Result<StoreEnvironments> StoreEnvironments::open(const StoreLayout& layout) {
    StoreEnvironments out;
    out.segments_ = layout.segments();
    out.node_ = layout.node();
    for (std::uint32_t s = 0; s < layout.segments(); ++s) {
        for (SegmentKind k : segment_kinds) {
            auto env = layout.open_env(k, s);
            if (!env) return fail(env.error());
            out.envs_.push_back(std::move(*env));
        }
    }
    return out;
}

Env* StoreEnvironments::env(std::uint32_t segment, SegmentKind kind) const noexcept {
    if (segment >= segments_) return nullptr;
    return envs_[segment * kKinds + static_cast<std::uint32_t>(kind)].get();
}

ShardEnvironments ShardEnvironments::view(const StoreEnvironments& all, std::uint32_t shard, std::uint32_t shards) {
    VMX_ASSERT(shards > 0 && shard < shards);
    ShardEnvironments out;
    for (std::uint32_t s = shard; s < all.segments(); s += shards) out.segments_.push_back(s);
    for (SegmentKind k : lane_order)
        for (std::uint32_t s : out.segments_) out.envs_.push_back(all.env(s, k));
    return out;
}

std::optional<std::uint32_t> ShardEnvironments::lane_index(std::uint32_t segment, SegmentKind kind) const {
    const auto it = std::lower_bound(segments_.begin(), segments_.end(), segment);
    if (it == segments_.end() || *it != segment) return std::nullopt;
    const auto position = static_cast<std::uint32_t>(it - segments_.begin());
    return lane_rank(kind) * static_cast<std::uint32_t>(segments_.size()) + position;
}

Env* ShardEnvironments::env(std::uint32_t segment, SegmentKind kind) const {
    const auto index = lane_index(segment, kind);
    return index ? envs_[*index] : nullptr;
}

}  // namespace vmx::store
