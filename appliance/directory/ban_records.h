// Bans of client addresses, kept so that a restart does not lift them: the `directory`
// environment's "bans" database, one record per ban, sealed under the appliance scope (an address
// is personal data: none lies on disk in the clear). Key: a ban id (u64 BE) that the identity binds
// the sealed value to. Few and rarely written; read whole at start-up.
// Threads: any, one call at a time (the BanList that owns it holds its lock around each call).
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

struct BanRecord {
    std::uint64_t id = 0;
    std::string address;       // the client's address, as text
    std::int64_t since_unix = 0;
    std::int64_t until_unix = 0;
    std::uint32_t failures = 0;  // failed logins that led to it
};

inline constexpr std::size_t ban_address_bytes_max = 64;

// One record's plaintext as it is sealed (version 1; the id is in the key). encode cuts the address
// to ban_address_bytes_max; decode checks every length and refuses trailing bytes (nullopt).
std::vector<std::uint8_t> encode_ban_record(const BanRecord& ban);

// The identity a value of the "bans" database is sealed under, from its key; nullopt for a key of
// another shape. For checks that open every record (backups).
std::optional<crypto::RecordIdentity> stored_ban_identity(std::span<const std::uint8_t> key);
std::optional<BanRecord> decode_ban_record(std::span<const std::uint8_t> bytes, std::uint64_t id);

class BanRecords {
public:
    static Result<BanRecords> open(store::Env& directory_env);

    // Every record (expired ones too: the caller drops them).
    Result<std::vector<BanRecord>> load(const crypto::KeySet& keys) const;
    Result<void> put(const crypto::KeySet& keys, const BanRecord& ban);
    Result<void> erase(std::uint64_t id);

private:
    BanRecords(store::Env& env, store::Dbi dbi) : env_(&env), dbi_(dbi) {}
    store::Env* env_;
    store::Dbi dbi_;
};

}  // namespace vmx
