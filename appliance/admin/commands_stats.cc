// The stats admin command: connections, deliveries, the store lane's group commit and delivery
// markers, per shard, and the auth workers' verified-login cache. Reads each shard's counters
// (relaxed atomics) from the control thread.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include <string_view>
#include <utility>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/counters.h"

namespace vmx::admin {

AdminReply stats(AdminContext& c, const AdminRequest& r) {
    if (c.shards == nullptr) return ok(r.json ? "[]\n" : "");
    // Connections, deliveries, the store lane's group commit (writes, the durable commits that
    // carried them, the largest batch) and delivery markers (kept by the last clean-up pass).
    static constexpr std::pair<std::string_view, std::string_view> shown[] = {
        {"connections", "shard.connections"}, {"accepted", "shard.accepted"},
        {"refused_full", "shard.refused_full"}, {"messages", "delivery.accepted"},
        {"delivered", "delivery.delivered"}, {"queue", "delivery.queued"},
        {"outbound_queue", "outbound.queued"},
        {"store_writes", "lane.writes"}, {"store_commits", "lane.commits"},
        {"store_largest_batch", "lane.largest_batch"}, {"markers", "markers.live"},
        {"markers_removed", "markers.removed"},
    };
    std::string out;
    for (std::uint32_t s = 0; s < c.shards->count(); ++s) {
        const CounterSnapshot counters = c.shards->counters(s);
        std::string line = r.json ? fmt::format("{}{{\"shard\":{}", out.empty() ? "" : ",", s) : fmt::format("shard {}", s);
        for (const auto& [key, name] : shown)
            line += r.json ? fmt::format(",\"{}\":{}", key, counters[name]) : fmt::format("\t{}={}", key, counters[name]);
        out += line + (r.json ? "}" : "\n");
    }
    // Logins answered without Argon2id. Text only: the JSON stays one object per shard, which
    // scripts add up.
    if (!r.json && c.verified_logins != nullptr)
        out += fmt::format("auth\tlogin_cache_entries={}\tlogin_cache_hits={}\tlogin_cache_misses={}\n",
                           c.verified_logins->size(), c.verified_logins->hits(), c.verified_logins->misses());
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
