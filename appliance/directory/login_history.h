// Login history: every authentication attempt (success or failure, with the reason's class, never
// the secret), and every support reveal of the user's senders and subjects (with the admin's
// reason: `support mailbox --reveal`, so the user can see it in the portal), kept per user in the
// `directory` environment's "logins" database, sealed under the appliance scope, and purged after
// the configured retention (default 400 days).
// Threads: shards report attempts to the control thread by message; the control thread is the only
// writer and commits what arrived in one transaction per flush (so a burst of POP3 logins costs one
// fsync, not one each). Readers: any thread with its own ReadTxn.
//
// Key: user id (u64 BE) || time (u64 BE, unix seconds) || sequence (u32 BE): a cursor walks one
// user's history in time order. Identity {directory, segment 0, mailbox = user id,
// record = time << 20 | (sequence & 0xfffff)} binds each entry to its user and place.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"

namespace vmx {

enum class LoginResult : std::uint8_t {
    success = 1,
    failure = 2,
    support_reveal = 3,  // not a login: an admin revealed the user's senders and subjects (note: why)
};
// Why an attempt failed, as a class the admin can act on (never the password or how wrong it was).
enum class LoginFailure : std::uint8_t {
    none = 0,
    bad_credentials = 1,
    account_disabled = 2,
    network_not_allowed = 3,
    mfa_required = 4,
    throttled = 5,
    temporary = 6,
    account_closed = 7,  // the right secret for a closed account (the client saw a wrong password)
};
// totp and security_key: the portal's second factor, recorded as an attempt of its own.
enum class LoginMethod : std::uint8_t { password = 1, app_password = 2, support = 3, totp = 4, security_key = 5 };

struct LoginEvent {
    std::uint64_t user_id = 0;
    std::int64_t time_unix = 0;
    LoginResult result = LoginResult::failure;
    LoginFailure reason = LoginFailure::none;
    LoginMethod method = LoginMethod::password;
    std::string protocol;      // "pop3", "submission"
    std::string client_ip;     // text form
    std::string tls_version;   // "TLSv1.3", or empty without TLS
    std::string note{};        // a support reveal's reason; empty for a login
};

std::string_view name_of(LoginResult r) noexcept;
std::string_view name_of(LoginFailure f) noexcept;
std::string_view name_of(LoginMethod m) noexcept;

inline constexpr std::size_t login_field_bytes_max = 64;
inline constexpr std::size_t login_note_bytes_max = 200;  // support_reason_bytes_max (support_grants.h)
inline constexpr std::int64_t login_retention_default_days = 400;

// One entry's plaintext as it is sealed (the user id is in the key, not here): version 1 for a
// login (what earlier daemons read), version 2 (a note and the support values) for a support
// reveal. encode cuts and cleans the text fields as append() says (the note to
// login_note_bytes_max); decode accepts only what encode writes (every field, length and text
// checked, no trailing bytes), nullopt otherwise.
std::vector<std::uint8_t> encode_login_event(const LoginEvent& e);
std::optional<LoginEvent> decode_login_event(std::span<const std::uint8_t> bytes, std::uint64_t user_id);

// The identity a value of the "logins" database is sealed under, from its key; nullopt for a key of
// another shape. For checks that open every record (backups).
std::optional<crypto::RecordIdentity> stored_login_identity(std::span<const std::uint8_t> key);

class LoginHistory {
public:
    static Result<LoginHistory> open(store::Env& directory_env);

    // Appends the events in one durable transaction (control thread). Fields over
    // login_field_bytes_max are cut; control characters are replaced, so a log line stays one line.
    Result<void> append(const crypto::KeySet& keys, const std::vector<LoginEvent>& events);
    // A user's entries at or after since_unix, oldest first, at most `limit` (the newest ones kept).
    Result<std::vector<LoginEvent>> read(store::ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t user_id,
                                         std::int64_t since_unix, bool failed_only, std::size_t limit) const;
    // Removes up to max entries older than cutoff_unix (control thread); how many.
    Result<std::size_t> purge_before(std::int64_t cutoff_unix, std::size_t max);
    // Removes up to max entries of one user (a closed account's purge; control thread); how many.
    // Call again while it returns max.
    Result<std::size_t> erase_user(std::uint64_t user_id, std::size_t max);

private:
    LoginHistory(store::Env& env, store::Dbi dbi) : env_(&env), dbi_(dbi) {}
    store::Env* env_;
    store::Dbi dbi_;
    std::uint32_t sequence_ = 0;
};

}  // namespace vmx
