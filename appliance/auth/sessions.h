// Live authenticated sessions, for connection review (`vaultmx user sessions`) and remote logout
// (`vaultmx user logout`). Each shard keeps its own sessions (ShardSessions, shard thread only) and
// tells the control thread when one starts or ends; the control thread keeps the whole picture
// (SessionRegistry, control thread only) and, for a logout, asks every shard to end the user's
// sessions at once. Login attempts travel the same way to the login history.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "appliance/directory/login_history.h"
#include "appliance/common/message_kinds.h"
#include "core/message.h"

namespace vmx {

class Shard;

struct SessionInfo {
    std::uint64_t user_id = 0;
    std::uint32_t shard = 0;
    std::uint64_t session_id = 0;   // unique on its shard
    std::string protocol;           // "pop3", "submission"
    std::string client_ip;
    std::string tls_version;
    std::int64_t started_unix = 0;
};


struct SessionStarted final : MessagePayload {
    explicit SessionStarted(SessionInfo i) : info(std::move(i)) {}
    SessionInfo info;
};

struct LoginAttempt final : MessagePayload {
    explicit LoginAttempt(LoginEvent e) : event(std::move(e)) {}
    LoginEvent event;
};

// Control thread: every live session of every shard.
class SessionRegistry {
public:
    void started(SessionInfo info);
    void ended(std::uint32_t shard, std::uint64_t session_id);
    std::vector<SessionInfo> of_user(std::uint64_t user_id) const;
    // The session, if it is live and the user's.
    std::optional<SessionInfo> find(std::uint64_t user_id, std::uint32_t shard, std::uint64_t session_id) const;
    std::size_t size() const noexcept { return sessions_.size(); }

private:
    std::map<std::pair<std::uint32_t, std::uint64_t>, SessionInfo> sessions_;
};

// Shard thread: this shard's live sessions and how to end each one.
class ShardSessions {
public:
    explicit ShardSessions(Shard& shard) : shard_(shard) {}

    // Registers a session (after a successful login) and tells the control thread; `end` closes it
    // (an admin's logout). Returns the id to remove it with.
    std::uint64_t add(SessionInfo info, std::function<void()> end);
    // The session ended by itself (QUIT, timeout, dropped connection).
    void remove(std::uint64_t session_id);
    // Ends every session of the user on this shard; how many.
    std::size_t logout(std::uint64_t user_id);
    // Ends one session, if it is the user's (the portal's "log out this device"); whether it was.
    bool end(std::uint64_t user_id, std::uint64_t session_id);
    // Reports a login attempt for the user's history.
    void report_login(LoginEvent event);
    std::size_t size() const noexcept { return live_.size(); }

private:
    struct Live {
        std::uint64_t user_id = 0;
        std::function<void()> end;
    };
    Shard& shard_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Live> live_;
};

}  // namespace vmx
