// The admin commands' view of the running shards (admin/commands.h AdminShards): their counters for
// `vaultmx stats`, remote logout on every shard, and the control thread's requests to a shard.
// Control thread only; the shards' counters are relaxed atomics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/admin/commands.h"
#include "appliance/common/shard_calls.h"
#include "core/engine.h"
#include "core/log.h"

namespace vmx {

// Sends one message made by `make` to every shard (key snapshots, remote logout); a full inbox is
// logged as `what`.
template <class Make>
void send_to_every_shard(Engine& engine, const char* what, Make make) {
    for (std::uint32_t s = 0; s < engine.shard_count(); ++s)
        if (!engine.control_send(s, make())) log_event(LogLevel::error, what, "shard={}", s);
}

class EngineAdminShards final : public AdminShards {
public:
    // `listeners`: the engine's listener names, in the order of its specs (labels for metrics).
    EngineAdminShards(Engine& engine, std::vector<std::string> listeners);

    std::uint32_t count() const override { return engine_.shard_count(); }
    CounterSnapshot counters(std::uint32_t shard) const override;
    void logout_everywhere(std::uint64_t user_id) override;
    void end_session(std::uint32_t shard, std::uint64_t user_id, std::uint64_t session_id) override;
    Calls& calls() override { return calls_; }

private:
    Engine& engine_;
    std::vector<std::string> listeners_;
    Calls calls_;
};

}  // namespace vmx
