// The admin commands' view of the running shards (see admin_shards.h).
#include "appliance/daemon/admin_shards.h"

#include "appliance/common/message_kinds.h"
#include "appliance/daemon/shard_wiring.h"

namespace vmx {

EngineAdminShards::EngineAdminShards(Engine& engine)
    : engine_(engine), calls_([&engine](std::uint32_t shard, Message&& m) { return engine.control_send(shard, std::move(m)); }) {}

// Every ShardContext was built before the engine started, so it is there to read.
CounterSnapshot EngineAdminShards::counters(std::uint32_t shard) const {
    CounterSnapshot out;
    const ShardStats& st = engine_.shard(shard).stats();
    out.add("shard.connections", st.connections_live);
    out.add("shard.accepted", st.accepted);
    out.add("shard.refused_full", st.refused_full);
    const ShardContext& c = ShardContext::of(engine_.shard(shard));
    const store::LaneStats& lane = c.store->lane_stats();
    out.add("lane.writes", lane.requests);
    out.add("lane.commits", lane.transactions);
    out.add("lane.largest_batch", lane.largest_batch);
    out.add("lane.map_full", lane.map_full);
    out.add("lane.failed_commits", lane.failed_commits);
    c.delivery->stats().list(out);
    c.outbound->stats().list(out);
    c.marker_cleanup->stats().list(out);
    out.add("calls.replies_retried", c.calls->replies_retried());
    return out;
}

void EngineAdminShards::logout_everywhere(std::uint64_t user_id) {
    send_to_every_shard(engine_, "session.logout_send_failed", [user_id] {
        Message m;
        m.kind = message_logout_user;
        m.a = user_id;
        return m;
    });
}

}  // namespace vmx
