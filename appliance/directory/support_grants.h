// Support reveal grants: while one is open for a user, `vaultmx support mailbox --reveal` shows
// that user's senders and subjects in clear. Kept in the `directory` environment's "support"
// database, at most one per user, sealed under the appliance scope (the reason may name the user;
// nothing lies on disk in the clear), so a restart neither lifts nor lengthens a window. Key: the
// user id (u64 BE); identity {directory, segment support_grant_segment, mailbox = user id,
// record 0}, apart from every other directory record (they all use segment 0).
// Threads: the control thread is the only writer; few, tiny, read one at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"

namespace vmx {

inline constexpr std::size_t support_reason_bytes_max = 200;
inline constexpr std::uint32_t support_grant_segment = 1;
// Expired grants removed per sweep (at start-up and with each support command): there is at most
// one per user, and each lives an hour at most, so a sweep this size keeps up with any appliance.
inline constexpr std::size_t support_grants_swept_max = 1000;

struct SupportGrant {
    std::uint64_t user_id = 0;
    std::uint32_t admin_uid = 0;  // the admin socket peer that opened it (SO_PEERCRED)
    std::string reason;           // as the admin gave it (is_support_reason)
    std::int64_t granted_unix = 0;
    std::int64_t expires_unix = 0;  // open while now < expires_unix
};

// A reason an admin may give: 1 to support_reason_bytes_max bytes of display-safe UTF-8
// (common/display_text.h: no control characters), not only spaces.
bool is_support_reason(std::string_view reason);

// One grant's plaintext as it is sealed (version 1; the user id is in the key). decode checks
// every field (the reason with is_support_reason, granted before expires) and refuses trailing
// bytes (nullopt).
std::vector<std::uint8_t> encode_support_grant(const SupportGrant& grant);
std::optional<SupportGrant> decode_support_grant(std::span<const std::uint8_t> bytes, std::uint64_t user_id);

// The identity a value of the "support" database is sealed under, from its key; nullopt for a key
// of another shape. For checks that open every record (backups).
std::optional<crypto::RecordIdentity> stored_support_grant_identity(std::span<const std::uint8_t> key);

class SupportGrants {
public:
    static Result<SupportGrants> open(store::Env& directory_env);

    // The user's grant, expired or not; nullopt when there is none.
    Result<std::optional<SupportGrant>> find(const crypto::KeySet& keys, std::uint64_t user_id) const;
    // Stores it (replacing the user's earlier one) in one durable transaction.
    Result<void> put(const crypto::KeySet& keys, const SupportGrant& grant);
    // Removes the user's grant, if any (the account's purge). Control thread.
    Result<void> erase(std::uint64_t user_id);
    // Removes up to max grants expired at now_unix (and any that no longer opens); how many.
    Result<std::size_t> erase_expired(const crypto::KeySet& keys, std::int64_t now_unix, std::size_t max);

private:
    SupportGrants(store::Env& env, store::Dbi dbi) : env_(&env), dbi_(dbi) {}
    store::Env* env_;
    store::Dbi dbi_;
};

}  // namespace vmx
