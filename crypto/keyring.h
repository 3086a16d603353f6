// The key hierarchy. The master key wraps scope keys; scope keys wrap the per-record data keys
// (crypto/sealed_record.h). Scopes follow the plan: every `starter` organisation shares one key,
// each `pro` organisation has its own, each `ultimate` user has their own. Every scope key has
// versions, each with a creation time and a state (active / retiring / destroyed).
//
// Keyring is the control thread's mutable view (the only writer; the store persists its
// records()). KeySet is an immutable snapshot that shards read through shared_ptr<const KeySet>;
// it holds the unwrapped keys of live versions in locked, non-dumpable memory. A thread that takes
// a new snapshot after a key was destroyed calls hkdf_prk_cache_clear() (crypto/hkdf.h), so no
// value derived from the destroyed key stays in its cache.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "core/result.h"
#include "crypto/master_key.h"
#include "crypto/sealed_record.h"
#include "crypto/sealed_stream.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

enum class Plan : std::uint8_t { starter = 1, pro = 2, ultimate = 3 };
enum class ScopeKind : std::uint8_t { shared = 1, organisation = 2, user = 3, appliance = 4 };

struct Scope {
    ScopeKind kind = ScopeKind::shared;
    std::uint64_t owner = 0;  // organisation id, user id; 0 for the shared and appliance scopes
    friend auto operator<=>(const Scope&, const Scope&) = default;
};

// The scope whose key protects a user's data under the organisation's plan.
Scope scope_for(Plan plan, std::uint64_t organisation_id, std::uint64_t user_id) noexcept;

enum class KeyState : std::uint8_t { active = 1, retiring = 2, destroyed = 3 };

struct KeyVersion {
    std::uint32_t version = 0;
    std::int64_t created_unix = 0;
    KeyState state = KeyState::active;
    std::vector<std::uint8_t> wrapped;  // AES-KW of the key under the master key; empty once destroyed
};

struct ScopeKeyRecord {
    std::uint64_t key_id = 0;
    Scope scope;
    std::vector<KeyVersion> versions;  // ascending; exactly one active unless the key is destroyed
};

// A stable byte encoding of one record, for the `keys` store; decode checks it fully.
std::vector<std::uint8_t> encode_key_record(const ScopeKeyRecord& record);
Result<ScopeKeyRecord> decode_key_record(std::span<const std::uint8_t> bytes);

struct ActiveKey {
    KeyRef ref;
    std::span<const std::uint8_t, 32> key;
};

class KeySet {
public:
    // The version new records of this scope are sealed with.
    Result<ActiveKey> active(const Scope& scope) const;
    // Any live version; key_destroyed for a destroyed one, key_not_found for an unknown one.
    Result<std::span<const std::uint8_t, 32>> find(KeyRef ref) const;

    // Seals under the scope's active key (identity.key is filled in).
    Result<std::vector<std::uint8_t>> seal(const Scope& scope, RecordIdentity identity,
                                           std::span<const std::uint8_t> plaintext) const;
    // Opens with whichever version the record names; identity.key is taken from the record.
    Result<std::vector<std::uint8_t>> open(RecordIdentity identity, std::span<const std::uint8_t> record) const;
    // A stream of chunks (a message body) under the scope's active key (identity.key is filled in).
    Result<StreamSealer> begin_stream(const Scope& scope, RecordIdentity identity) const;
    // The opener of a stream, from its head chunk; identity.key is taken from the head.
    Result<StreamOpener> open_stream(RecordIdentity identity, std::span<const std::uint8_t> head) const;
    // True when a head record is not under the scope's active key (rotation or plan change pending),
    // or is of format version 1 (the rewrap job upgrades it). Never for a stream's continuation.
    bool needs_rewrap(const Scope& scope, std::span<const std::uint8_t> record) const;
    // Rewraps the record's data key under the scope's active key; the body is untouched. A version 1
    // record is upgraded instead: opened and sealed again as version 2 (a one-chunk stream).
    Result<std::vector<std::uint8_t>> rewrap_to_active(const Scope& scope, RecordIdentity identity,
                                                       std::span<const std::uint8_t> record) const;

private:
    friend class Keyring;
    // The key a head record names (peek_key, then find), with identity.key set to its reference.
    Result<std::span<const std::uint8_t, 32>> key_named_by(std::span<const std::uint8_t> head,
                                                           RecordIdentity& identity) const;
    struct Entry {
        std::shared_ptr<const SecretBytes> key;  // null once destroyed
    };
    std::map<std::pair<std::uint64_t, std::uint32_t>, Entry> versions_;
    std::map<Scope, KeyRef> active_;
};

class Keyring {
public:
    // An empty keyring under this master key.
    static Keyring create(MasterKey master);
    // Unwraps every live version; fails with authentication_failed if the master key is not the
    // one these records were wrapped with.
    static Result<Keyring> load(MasterKey master, std::vector<ScopeKeyRecord> records);

    // The scope's key reference for new writes, creating the key (version 1) on first use.
    Result<KeyRef> ensure_scope_key(const Scope& scope, std::int64_t now_unix);
    // A new version becomes active; the previous one turns `retiring` until its records are
    // rewrapped (the store's background job) and finish_retirement() destroys it.
    Result<KeyRef> rotate(std::uint64_t key_id, std::int64_t now_unix);
    Result<void> finish_retirement(KeyRef retired);
    // Crypto-shredding: every version of the key is wiped and its wrapped copy erased. Irreversible.
    Result<void> destroy(std::uint64_t key_id);
    // Rewraps every live version under a new master key.
    Result<void> rotate_master(MasterKey new_master);

    const std::vector<ScopeKeyRecord>& records() const noexcept { return records_; }
    std::shared_ptr<const KeySet> snapshot() const;
    const std::array<std::uint8_t, 16>& master_check() const noexcept { return master_.check; }
    // For what is sealed under a key derived from the master key (appliance secrets); not a copy.
    const MasterKey& master() const noexcept { return master_; }

private:
    explicit Keyring(MasterKey master) : master_(std::move(master)) {}
    ScopeKeyRecord* find_record(std::uint64_t key_id);
    Result<std::vector<std::uint8_t>> wrap(std::uint64_t key_id, std::uint32_t version, std::span<const std::uint8_t> key) const;
    Result<SecretBytes> unwrap(std::uint64_t key_id, std::uint32_t version, std::span<const std::uint8_t> wrapped) const;
    Result<void> add_version(ScopeKeyRecord& record, std::uint32_t version, std::int64_t now_unix);

    MasterKey master_;
    std::vector<ScopeKeyRecord> records_;
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::shared_ptr<const SecretBytes>> keys_;
    std::uint64_t next_key_id_ = 1;
};

}  // namespace vmx::crypto
