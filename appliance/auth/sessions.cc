// Session bookkeeping on the shards and the control thread (see sessions.h).
#include "appliance/auth/sessions.h"

#include "core/log.h"
#include "core/shard.h"

namespace vmx {

void SessionRegistry::started(SessionInfo info) {
    const auto key = std::make_pair(info.shard, info.session_id);
    sessions_[key] = std::move(info);
}

void SessionRegistry::ended(std::uint32_t shard, std::uint64_t session_id) { sessions_.erase({shard, session_id}); }

std::vector<SessionInfo> SessionRegistry::of_user(std::uint64_t user_id) const {
    std::vector<SessionInfo> out;
    for (const auto& [key, info] : sessions_)
        if (info.user_id == user_id) out.push_back(info);
    return out;
}

std::optional<SessionInfo> SessionRegistry::find(std::uint64_t user_id, std::uint32_t shard,
                                                  std::uint64_t session_id) const {
    auto it = sessions_.find({shard, session_id});
    if (it == sessions_.end() || it->second.user_id != user_id) return std::nullopt;
    return it->second;
}

std::uint64_t ShardSessions::add(SessionInfo info, std::function<void()> end) {
    const std::uint64_t id = next_id_++;
    info.shard = shard_.id();
    info.session_id = id;
    live_[id] = Live{info.user_id, std::move(end)};
    Message m;
    m.kind = message_session_started;
    m.payload = std::make_unique<SessionStarted>(std::move(info));
    if (!shard_.send_message(shard_.shard_count(), std::move(m)))
        log_event(LogLevel::warn, "session.report_dropped", "what=start session={}", id);
    return id;
}

void ShardSessions::remove(std::uint64_t session_id) {
    if (live_.erase(session_id) == 0) return;
    Message m;
    m.kind = message_session_ended;
    m.a = session_id;
    if (!shard_.send_message(shard_.shard_count(), std::move(m)))
        log_event(LogLevel::warn, "session.report_dropped", "what=end session={}", session_id);
}

std::size_t ShardSessions::logout(std::uint64_t user_id) {
    // Collect first: ending a session calls remove(), which changes the map.
    std::vector<std::uint64_t> ids;
    for (const auto& [id, live] : live_)
        if (live.user_id == user_id) ids.push_back(id);
    for (std::uint64_t id : ids) {
        auto it = live_.find(id);
        if (it == live_.end()) continue;
        auto end = std::move(it->second.end);
        remove(id);
        if (end) end();
    }
    return ids.size();
}

bool ShardSessions::end(std::uint64_t user_id, std::uint64_t session_id) {
    auto it = live_.find(session_id);
    if (it == live_.end() || it->second.user_id != user_id) return false;
    auto end = std::move(it->second.end);
    remove(session_id);
    if (end) end();
    return true;
}

void ShardSessions::report_login(LoginEvent event) {
    Message m;
    m.kind = message_login_attempt;
    m.payload = std::make_unique<LoginAttempt>(std::move(event));
    if (!shard_.send_message(shard_.shard_count(), std::move(m)))
        log_event(LogLevel::warn, "session.report_dropped", "what=login");
}

}  // namespace vmx
