#include "store/shard_envs.h"

#include <algorithm>

namespace vmx::store {
namespace {

constexpr std::uint32_t kKinds = static_cast<std::uint32_t>(segment_kinds.size());

}  // namespace

Result<ShardEnvironments> ShardEnvironments::open(const StoreLayout& layout, std::uint32_t shard,
                                                  std::uint32_t shards) {
    VMX_ASSERT(shards > 0 && shard < shards);
    ShardEnvironments out;
    out.shards_ = shards;
    for (std::uint32_t s = shard; s < layout.segments(); s += shards) {
        out.segments_.push_back(s);
        for (SegmentKind k : segment_kinds) {
            auto env = Env::open(layout.path(k, s), layout.env_options(k));
            if (!env) return fail(env.error());
            out.envs_.push_back(std::move(*env));
        }
    }
    return out;
}

std::vector<Env*> ShardEnvironments::envs() const {
    std::vector<Env*> out;
    out.reserve(envs_.size());
    for (const auto& e : envs_) out.push_back(e.get());
    return out;
}

std::optional<std::uint32_t> ShardEnvironments::lane_index(std::uint32_t segment, SegmentKind kind) const {
    const auto it = std::lower_bound(segments_.begin(), segments_.end(), segment);
    if (it == segments_.end() || *it != segment) return std::nullopt;
    const auto position = static_cast<std::uint32_t>(it - segments_.begin());
    return position * kKinds + static_cast<std::uint32_t>(kind);
}

Env* ShardEnvironments::env(std::uint32_t segment, SegmentKind kind) const {
    const auto index = lane_index(segment, kind);
    return index ? envs_[*index].get() : nullptr;
}

}  // namespace vmx::store
