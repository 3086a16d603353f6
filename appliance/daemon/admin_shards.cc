// The admin commands' view of the running shards (see admin_shards.h).
#include "appliance/daemon/admin_shards.h"

#include "appliance/common/message_kinds.h"
#include "appliance/daemon/shard_wiring.h"
#include "net/stream/stream.h"

namespace vmx {

namespace {

// The counter names of one listener's streams (literals: snapshots keep views of them).
struct ListenerCounterNames {
    std::string_view listener, open, handshakes, handshake_failures;
};
constexpr ListenerCounterNames listener_counter_names[] = {
    {"smtp", "sessions.smtp.open", "tls.smtp.handshakes", "tls.smtp.handshake_failures"},
    {"submission", "sessions.submission.open", "tls.submission.handshakes", "tls.submission.handshake_failures"},
    {"submission_tls", "sessions.submission_tls.open", "tls.submission_tls.handshakes",
     "tls.submission_tls.handshake_failures"},
    {"pop3s", "sessions.pop3s.open", "tls.pop3s.handshakes", "tls.pop3s.handshake_failures"},
};

// Sessions and handshakes of each listener served by a stream service (not a refusing one).
void list_listeners(const Shard& shard, const std::vector<std::string>& names, CounterSnapshot& out) {
    for (std::size_t i = 0; i < names.size() && i < shard.listener_count(); ++i) {
        const auto* service = dynamic_cast<const net::StreamService*>(shard.listener_service(i));
        if (service == nullptr) continue;
        for (const ListenerCounterNames& n : listener_counter_names) {
            if (n.listener != names[i]) continue;
            const net::StreamStats& st = service->stats();
            out.add(n.open, st.open);
            out.add(n.handshakes, st.handshakes);
            out.add(n.handshake_failures, st.handshake_failures);
        }
    }
}

}  // namespace

EngineAdminShards::EngineAdminShards(Engine& engine, std::vector<std::string> listeners)
    : engine_(engine), listeners_(std::move(listeners)),
      calls_([&engine](std::uint32_t shard, Message&& m) { return engine.control_send(shard, std::move(m)); }) {}

// Every ShardContext was built before the engine started, so it is there to read.
CounterSnapshot EngineAdminShards::counters(std::uint32_t shard) const {
    CounterSnapshot out;
    // Once the drain began a stopping shard tears down what these live in: nothing is read then
    // (stats, the metrics scrape and the alarm rules all come through here).
    if (engine_.stop_requested()) return out;
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
    out.add("lane.sync_failures", lane.sync_failures);
    out.add("lane.disk_full", lane.disk_full);
    out.add("lane.reopens", lane.reopens);
    out.add("lane.failed_tasks", lane.failed_tasks);
    out.add("lane.commit", lane.commit_seconds);
    out.add("store.sweeps", c.store->stats().sweeps);
    out.add("store.sweep_failures", c.store->stats().sweep_failures);
    c.login->stats().list(out);
    c.smtp_timings->list(out);
    list_listeners(engine_.shard(shard), listeners_, out);
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

void EngineAdminShards::end_session(std::uint32_t shard, std::uint64_t user_id, std::uint64_t session_id) {
    if (shard >= engine_.shard_count()) return;
    Message m;
    m.kind = message_kind(AppMessage::logout_session);
    m.a = user_id;
    m.b = session_id;
    if (!engine_.control_send(shard, std::move(m))) log_event(LogLevel::warn, "session.logout_send_failed", "shard={}", shard);
}

}  // namespace vmx
