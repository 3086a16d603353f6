// The key hierarchy. The master key wraps the plan scope keys; every user's own ACCOUNT key is
// wrapped by the key of the user's plan scope; account keys (and the appliance's own scope key)
// wrap the per-record data keys (crypto/sealed_record.h). Plan scopes: every `starter` organisation
// shares one key, each `pro` organisation has its own, each `ultimate` user has their own. So the
// plan still decides who holds the wrapping key, and destroying one account key makes that user's
// records unreadable in every copy (crypto-shredding on every plan). Every key has versions, each
// with a creation time and a state (active / retiring / destroyed); each version names the key
// version that wraps it (none: the master key).
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
#include "crypto/errc.h"
#include "crypto/master_key.h"
#include "crypto/sealed_record.h"
#include "crypto/sealed_stream.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

enum class Plan : std::uint8_t { starter = 1, pro = 2, ultimate = 3 };
enum class ScopeKind : std::uint8_t { shared = 1, organisation = 2, user = 3, appliance = 4, account = 5 };

struct Scope {
    ScopeKind kind = ScopeKind::shared;
    std::uint64_t owner = 0;  // organisation id, user id; 0 for the shared and appliance scopes
    friend auto operator<=>(const Scope&, const Scope&) = default;
};

// The plan scope whose key wraps a user's account key under the organisation's plan.
Scope scope_for(Plan plan, std::uint64_t organisation_id, std::uint64_t user_id) noexcept;
// The user's own key, which seals the user's records on every plan.
inline Scope account_scope(std::uint64_t user_id) noexcept { return {ScopeKind::account, user_id}; }

enum class KeyState : std::uint8_t { active = 1, retiring = 2, destroyed = 3 };

struct KeyVersion {
    std::uint32_t version = 0;
    std::int64_t created_unix = 0;
    KeyState state = KeyState::active;
    std::vector<std::uint8_t> wrapped;  // AES-KW of the key under its wrapping key; empty once destroyed
    KeyRef wrapped_by;                  // the key version that wraps this one; {0, 0}: the master key
};

struct ScopeKeyRecord {
    std::uint64_t key_id = 0;
    Scope scope;
    std::vector<KeyVersion> versions;  // ascending; exactly one active unless the key is destroyed
};

// A stable byte encoding of one record, for the `keys` store; decode checks it fully. Format 1
// (master-wrapped keys only) is still written for those, format 2 adds each version's wrapper.
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

    // The scope's key reference for new writes, creating the key (version 1) on first use. Not for
    // account scopes (invalid_argument): those have a wrapping scope, see ensure_account_key.
    Result<KeyRef> ensure_scope_key(const Scope& scope, std::int64_t now_unix);
    // The user's account key, wrapped by `parent`'s active key (both created on first use). An
    // account key wrapped by another scope (the organisation changed plan) has every live version
    // rewrapped under `parent`: the records it seals stay as they are. key_destroyed once shredded.
    Result<KeyRef> ensure_account_key(std::uint64_t user_id, const Scope& parent, std::int64_t now_unix);
    // A new version becomes active; the previous one turns `retiring` until its records are
    // rewrapped (the store's background job) and finish_retirement() destroys it. Rotating a plan
    // scope's key rotates every account key it wraps too (a new version under the new wrapping
    // version; the old ones retire with it), so a key thought compromised protects nothing new.
    Result<KeyRef> rotate(std::uint64_t key_id, std::int64_t now_unix);
    Result<void> finish_retirement(KeyRef retired);
    // Crypto-shredding: every version of the key, and of every key it wraps, is wiped and its
    // wrapped copy erased. Irreversible.
    Result<void> destroy(std::uint64_t key_id);
    // Rewraps every master-wrapped live version under a new master key (account keys are wrapped
    // by scope keys, which do not change).
    Result<void> rotate_master(MasterKey new_master);

    // Key ids whose records changed since the last saved() (the store writes only those).
    const std::vector<std::uint64_t>& changed() const noexcept { return changed_; }
    void saved() noexcept { changed_.clear(); }

    const std::vector<ScopeKeyRecord>& records() const noexcept { return records_; }
    std::shared_ptr<const KeySet> snapshot() const;
    const std::array<std::uint8_t, 16>& master_check() const noexcept { return master_.check; }
    // For what is sealed under a key derived from the master key (appliance secrets); not a copy.
    const MasterKey& master() const noexcept { return master_; }

private:
    explicit Keyring(MasterKey master) : master_(std::move(master)) {}
    ScopeKeyRecord* find_record(std::uint64_t key_id);
    ScopeKeyRecord* find_scope(const Scope& scope);
    Result<SecretBytes> kek(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper, CryptoErrc missing) const;
    // Under the master key (wrapper {0, 0}) or under the live key version `wrapper`.
    Result<std::vector<std::uint8_t>> wrap(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper,
                                           std::span<const std::uint8_t> key) const;
    Result<SecretBytes> unwrap(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper,
                               std::span<const std::uint8_t> wrapped) const;
    Result<void> add_version(ScopeKeyRecord& record, std::uint32_t version, KeyRef wrapper, std::int64_t now_unix);
    // Retires the active version of every account key wrapped by a version of `parent_id` and adds
    // one wrapped by `wrapper`.
    Result<void> rotate_accounts_of(std::uint64_t parent_id, KeyRef wrapper, std::int64_t now_unix);
    void destroy_versions(ScopeKeyRecord& record);
    void mark_changed(std::uint64_t key_id);

    MasterKey master_;
    std::vector<ScopeKeyRecord> records_;
    std::map<std::pair<std::uint64_t, std::uint32_t>, std::shared_ptr<const SecretBytes>> keys_;
    std::uint64_t next_key_id_ = 1;
    std::vector<std::uint64_t> changed_;
};

}  // namespace vmx::crypto
