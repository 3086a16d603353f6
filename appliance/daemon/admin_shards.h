// The admin commands' view of the running shards (admin/commands.h AdminShards): their counters for
// `vaultmx stats`, remote logout on every shard, and the control thread's requests to a shard.
// Control thread only; the shards' counters are relaxed atomics.
#pragma once

#include <cstdint>

#include "appliance/admin/commands.h"
#include "appliance/common/shard_calls.h"
#include "core/engine.h"

namespace vmx {

class EngineAdminShards final : public AdminShards {
public:
    explicit EngineAdminShards(Engine& engine);

    std::uint32_t count() const override { return engine_.shard_count(); }
    CounterSnapshot counters(std::uint32_t shard) const override;
    void logout_everywhere(std::uint64_t user_id) override;
    Calls& calls() override { return calls_; }

private:
    Engine& engine_;
    Calls calls_;
};

}  // namespace vmx
