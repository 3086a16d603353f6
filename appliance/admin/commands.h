// The admin commands the daemon serves on its admin socket. Each request is checked against its row
// of the command table (command_table.h: known command, known fields, required ones present), then
// run by its handler (command_registry.h; the handlers, by noun, in commands_*.cc), which re-checks
// every value, changes the directory or the keys, and answers with text (or JSON for listings when
// asked). The CLI checks too; the socket is the trust boundary. Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/admin/protocol.h"
#include "appliance/admin/server.h"
#include "appliance/audit/audit_log.h"
#include "appliance/auth/ban_list.h"
#include "appliance/auth/login_recorder.h"
#include "appliance/auth/password_hasher.h"
#include "appliance/auth/sessions.h"
#include "appliance/auth/verified_logins.h"
#include "appliance/common/counters.h"
#include "appliance/common/shard_calls.h"
#include "appliance/config/config.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/support_grants.h"
#include "appliance/jobs/closure_purge.h"
#include "appliance/jobs/rewrap_control.h"
#include "appliance/keys/key_service.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/ops/alarms.h"
#include "appliance/acme/acme_schedule.h"
#include "appliance/ops/log_spool.h"
#include "crypto/password.h"

namespace vmx {

// What admin commands reach of the running shards; the daemon implements it (admin tests without
// shards pass none).
class AdminShards {
public:
    virtual ~AdminShards() = default;
    virtual std::uint32_t count() const = 0;
    virtual CounterSnapshot counters(std::uint32_t shard) const = 0;  // for stats
    virtual void logout_everywhere(std::uint64_t user_id) = 0;         // ends a user's live sessions
    // Ends one live session of the user on one shard (the portal's "log out this device").
    virtual void end_session(std::uint32_t shard, std::uint64_t user_id, std::uint64_t session_id) = 0;
    virtual Calls& calls() = 0;                                        // requests answered later (restore)
};

struct AdminContext {
    Directory& directory;
    KeyService& keys;
    PasswordHasher& hasher;                       // Argon2id off this thread (the auth workers)
    std::function<std::int64_t()> now_unix{};     // the clock, so tests can fix it
    AuditLog* audit = nullptr;                    // every command is appended here
    SessionRegistry* sessions = nullptr;          // live sessions of every shard
    LoginRecorder* logins = nullptr;              // login history (flushed before it is read)
    VerifiedLogins* verified_logins = nullptr;    // the auth workers' cache: forget a changed user
    const MailStoreView* mail = nullptr;          // mailbox listings (any segment)
    RewrapControl* rewrap = nullptr;              // started by key rotate, shown by key status
    ClosurePurge* closure = nullptr;              // user purge --now (null: refused)
    AdminShards* shards = nullptr;                // null: no shards (stats empty, no restore)
    BanList* bans = nullptr;                      // login bans (null: none, bans commands refused)
    LogSpool* log = nullptr;                      // the sealed event spool (logs show)
    std::function<void()> flush_log{};            // commits the events still held in memory (logs show)
    const Alarms* alarms = nullptr;               // the alarm rules and their state (alarms)
    AcmeSchedule* acme = nullptr;                 // certificates from the ACME CA (acme status, renew); null: off
    SupportGrants* support_grants = nullptr;      // support reveal windows (null: --reveal refused)
    // The uid of the peer whose command is being dispatched: run_admin_command sets it just before
    // the handler runs, so a handler reads it at its start (never from a later callback).
    std::uint32_t peer_uid = 0;
    // [support] reveal_window_s: how long `support mailbox --reveal` shows clear content at most.
    std::uint32_t support_reveal_window_s = AppLimits{}.support_reveal_window_s;
    // [mailauth] dkim_retire_days: how long `dkim rotate` keeps a retired key published (the daemon
    // sets it from its config; tests and the default take the table's default).
    std::uint32_t dkim_retire_days = AppLimits{}.mailauth_dkim_retire_days;
    // [lifecycle] closure_purge_days: what user close and org close say about the purge.
    std::uint32_t closure_purge_days = AppLimits{}.lifecycle_closure_purge_days;
};

// Runs one request and appends it (who, what, when, result; never the secret) to the audit log.
// Never throws; a storage or key failure is AdminStatus::failed, and so is a command whose audit
// entry could not be written (the command's own effect stands; the reply says so).
void run_admin_command(AdminContext& context, const AdminRequest& request, const AdminPeer& peer,
                       AdminResponder respond);

// Sizes such as 500M, 2G, 1048576 (bytes); nothing for anything else or above 2^50.
std::optional<std::uint64_t> parse_size(std::string_view text);
// Durations such as 30m, 8h, 2d, 3600s or 3600 (seconds); nothing for anything else or over a year.
std::optional<std::uint32_t> parse_duration_s(std::string_view text);

}  // namespace vmx
