// The appliance's own secrets (a smarthost password, DKIM keys as "dkim/DOMAIN/SELECTOR") in the global `keys`
// environment, database "appliance-secrets": name -> u8 format (1), i64 set time (unix seconds,
// big-endian), then the value sealed by crypto/appliance_secret.h under a key derived from the
// master key and bound to the name. Values are never listed; a record moved to another name or
// altered fails to open. Writes on the control thread only (DESIGN.md: the one writer of `keys`);
// get() and list() run in read transactions, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/appliance_secret.h"
#include "crypto/master_key.h"
#include "crypto/secret_bytes.h"
#include "store/lmdb.h"

namespace vmx {

inline constexpr std::size_t secret_name_bytes_max = crypto::appliance_secret_name_bytes_max;  // 128
inline constexpr std::size_t secret_value_bytes_max = 4096;    // what an admin may set (`secret set`)
inline constexpr std::size_t stored_secret_bytes_max = 16384;   // what the appliance stores: an ACME
                                                               // certificate's key with its chain

// [a-z0-9._/-]{1,128}, '/' only between other characters ("dkim/example.org/vmx20261206"): safe in
// a command line, an audit entry and a log field.
bool valid_secret_name(std::string_view name) noexcept;

struct SecretInfo {
    std::string name;
    std::int64_t set_unix = 0;
};

class ApplianceSecrets {
public:
    // Opens (creating) the database. Control thread, once, before any reader.
    static Result<ApplianceSecrets> open(store::Env& keys_env);

    // Seals and stores value under name, replacing any earlier one, durably. crypto invalid_argument
    // for a bad name or an empty value or one over stored_secret_bytes_max. Control thread.
    Result<void> set(const crypto::MasterKey& master, std::string_view name, std::span<const std::uint8_t> value,
                     std::int64_t now_unix);
    // True when there was one. Control thread.
    Result<bool> remove(std::string_view name);
    // The opened value, or nullopt when none is set. crypto authentication_failed when the record
    // was altered, moved from another name or sealed under another master key; store corrupt when
    // its frame is malformed. Any thread.
    Result<std::optional<crypto::SecretBytes>> get(const crypto::MasterKey& master, std::string_view name) const;
    // Names and set times, in name order; never the values. Any thread.
    Result<std::vector<SecretInfo>> list() const;
    // A master-key rotation: every secret opened under `from` and sealed again under `to`, in the
    // caller's transaction (with the rewrapped scope keys, so either all move or none). Control thread.
    Result<void> reseal(store::WriteTxn& txn, const crypto::MasterKey& from, const crypto::MasterKey& to) const;

private:
    ApplianceSecrets(store::Env& env, store::Dbi dbi) : env_(&env), dbi_(dbi) {}
    store::Env* env_;
    store::Dbi dbi_;
};

}  // namespace vmx
