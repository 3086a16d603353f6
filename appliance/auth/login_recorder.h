// The login attempts the shards report, written to the login history in batches (one transaction
// per control tick, so a burst of logins costs one fsync) and purged after the retention.
// Control thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "appliance/directory/login_history.h"
#include "appliance/keys/key_service.h"

namespace vmx {

class LoginRecorder {
public:
    LoginRecorder(LoginHistory& history, KeyService& keys, std::int64_t retention_s)
        : history_(history), keys_(keys), retention_s_(retention_s) {}

    void add(LoginEvent event);
    // Writes the event now, with what is pending, and says whether it is durable: for an entry that
    // must be on record before anything else happens (a support reveal, before the content shows).
    Result<void> record_now(LoginEvent event);
    const LoginHistory& history() const noexcept { return history_; }
    void flush();
    // Flushes; once an hour, purges what is past the retention.
    void tick(std::int64_t now_unix);

private:
    static constexpr std::size_t pending_max = 4096;  // a larger burst is written at once
    static constexpr std::int64_t purge_interval_s = 3600;
    static constexpr std::size_t purge_entries_max = 100000;

    LoginHistory& history_;
    KeyService& keys_;
    std::int64_t retention_s_;
    std::vector<LoginEvent> pending_;
    std::int64_t next_purge_ = 0;
};

}  // namespace vmx
