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
#include <unordered_map>

#include "appliance/admin/protocol.h"
#include "appliance/admin/server.h"
#include "appliance/audit/audit_log.h"
#include "store/segment_handles.h"
#include "core/message.h"
#include "appliance/directory/directory.h"
#include "appliance/keys/key_service.h"
#include "appliance/directory/login_history.h"
#include "appliance/jobs/marker_cleanup.h"
#include "appliance/jobs/rewrap_control.h"
#include "appliance/auth/sessions.h"
#include "appliance/common/shard_calls.h"
#include "crypto/password.h"

namespace vmx {

class Engine;
struct DeliveryStats;

struct AdminContext {
    Directory& directory;
    KeyService& keys;
    crypto::Argon2Params argon2;
    Engine* engine = nullptr;                     // for stats; null in tests without shards
    std::function<std::int64_t()> now_unix{};     // the clock, so tests can fix it
    SessionRegistry* sessions = nullptr;          // live sessions of every shard
    LoginHistory* logins = nullptr;
    std::function<void(std::uint64_t)> logout_everywhere{};  // asks every shard to end a user's sessions
    std::function<void()> flush_logins{};         // writes login attempts still waiting in memory
    AuditLog* audit = nullptr;                    // every command is appended here
    const store::StoreEnvironments* envs = nullptr;  // mailbox reads
    store::StoreHandles* handles = nullptr;
    Calls* shard_calls = nullptr;                 // requests to a shard that answer later (restore)
    std::uint32_t shards = 1;
    RewrapControl* rewrap = nullptr;              // started by key rotate, shown by key status
    std::function<const DeliveryStats*(std::uint32_t shard)> delivery_stats{};  // for stats
    std::function<const store::LaneStats*(std::uint32_t shard)> lane_stats{};   // for stats: group commit
    std::function<const MarkerCleanupStats*(std::uint32_t shard)> marker_stats{};  // for stats: markers kept
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
