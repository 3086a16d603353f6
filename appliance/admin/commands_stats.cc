// The stats admin command: connections, deliveries, the store lane's group commit and delivery
// markers, per shard. Reads each shard's counters (relaxed atomics) from the control thread.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include <atomic>

#include "appliance/admin/command_helpers.h"
#include "appliance/delivery/local_delivery.h"
#include "core/engine.h"

namespace vmx::admin {

AdminReply stats(AdminContext& c, const AdminRequest& r) {
    if (c.engine == nullptr) return ok(r.json ? "[]\n" : "");
    std::string out;
    for (std::uint32_t s = 0; s < c.engine->shard_count(); ++s) {
        const ShardStats& st = c.engine->shard(s).stats();
        const auto live = st.connections_live.load(std::memory_order_relaxed);
        const auto accepted = st.accepted.load(std::memory_order_relaxed);
        const auto refused_full = st.refused_full.load(std::memory_order_relaxed);
        // The shard's delivery counters (its ShardContext was built before the engine started).
        const DeliveryStats* d = c.delivery_stats ? c.delivery_stats(s) : nullptr;
        const auto load = [](const std::atomic<std::uint64_t>* v) { return v ? v->load(std::memory_order_relaxed) : 0; };
        const auto messages = load(d ? &d->accepted : nullptr);
        const auto delivered = load(d ? &d->delivered : nullptr);
        const auto queued = load(d ? &d->queued : nullptr);
        // The store lane's group commit: writes, the durable commits that carried them, the largest batch.
        const store::LaneStats* l = c.lane_stats ? c.lane_stats(s) : nullptr;
        const auto writes = load(l ? &l->requests : nullptr);
        const auto commits = load(l ? &l->transactions : nullptr);
        const auto largest = load(l ? &l->largest_batch : nullptr);
        // Delivery markers kept by the last clean-up pass, and removed in all (bounded, not growing).
        const MarkerCleanupStats* mk = c.marker_stats ? c.marker_stats(s) : nullptr;
        const auto markers = load(mk ? &mk->live : nullptr);
        const auto markers_removed = load(mk ? &mk->removed : nullptr);
        if (r.json)
            out += fmt::format(R"({}{{"shard":{},"connections":{},"accepted":{},"refused_full":{},"messages":{},"delivered":{},"queue":{},"store_writes":{},"store_commits":{},"store_largest_batch":{},"markers":{},"markers_removed":{}}})",
                               out.empty() ? "" : ",", s, live, accepted, refused_full, messages, delivered, queued,
                               writes, commits, largest, markers, markers_removed);
        else
            out += fmt::format("shard {}\tconnections={}\taccepted={}\trefused_full={}\tmessages={}\tdelivered={}\tqueue={}"
                               "\tstore_writes={}\tstore_commits={}\tstore_largest_batch={}\tmarkers={}\tmarkers_removed={}\n",
                               s, live, accepted, refused_full, messages, delivered, queued, writes, commits, largest,
                               markers, markers_removed);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
