// The directory: organisations, domains and users in the global `directory` environment.
// Threads: the control thread is its only writer (each change is one durable transaction); shards
// and the control thread read it through their own ReadTxn with their own key snapshot (MVCC, no
// locks). Every record is sealed under the appliance scope with its identity {directory, kind, id};
// LMDB keys hold only ids and, for look-ups by name, a keyed hash of the name (a blind index), so
// neither an address nor a domain nor an organisation's name is on disk in the clear.
//
// Databases: "records": kind (u8) || id (u64 BE) -> sealed record;
//            "index":   kind (u8) || PRF(index key, kind || lower-cased name)[16] -> id (u64 LE);
//            "meta":    "next_id" -> u64 LE (ids count up from 1, shared by every kind, never reused);
//                       "shred" || kind (u8) || id (u64 BE) -> 1: a purged user or organisation whose
//                       own scope key is still to be destroyed (directory_closure.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "appliance/directory/records.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "crypto/secret_bytes.h"
#include "store/lmdb.h"

namespace vmx {

// The identity a value of the directory's "records" database is sealed under, from its key (kind
// byte, id big-endian); nullopt for a key of another shape. For checks that open every record (backups).
std::optional<crypto::RecordIdentity> stored_directory_identity(std::span<const std::uint8_t> key);

inline constexpr crypto::Scope appliance_scope{crypto::ScopeKind::appliance, 0};
inline constexpr std::size_t directory_index_key_bytes = 32;
inline constexpr std::string_view directory_index_key_name = "directory-index";

class Directory {
public:
    // Opens (creating) the databases. Control thread, before the shards start. The index key was
    // first derived from the master key (derive_index_key) and is then held wrapped under it in the
    // key store as directory_index_key_name (KeyStore::held_key); it must be the same on every start.
    static Result<Directory> open(store::Env& env, crypto::SecretBytes index_key);
    static Result<crypto::SecretBytes> derive_index_key(std::span<const std::uint8_t> master_key);

    // ---- Writers: control thread only; `keys` must hold the appliance scope's active key. -------
    Result<Organisation> add_org(const crypto::KeySet& keys, std::string_view name, crypto::Plan plan,
                                 std::int64_t now_unix);
    Result<Organisation> set_plan(const crypto::KeySet& keys, std::string_view name, crypto::Plan plan);
    Result<Organisation> set_policy(const crypto::KeySet& keys, std::string_view name, const OrgPolicy& policy);
    Result<Domain> add_domain(const crypto::KeySet& keys, std::string_view domain, std::string_view org_name,
                              std::int64_t now_unix);
    // The user's domain must be a local domain; the user joins the domain's organisation.
    Result<User> add_user(const crypto::KeySet& keys, std::string_view address, std::string password_hash,
                          std::uint64_t quota_bytes, std::int64_t now_unix);
    // Replaces the stored user (same id and address) after the caller changed credentials or state.
    Result<User> update_user(const crypto::KeySet& keys, const User& user);
    // One address the user may also send as, added or removed in one transaction (lower-cased
    // first). Refusals: invalid_address, unknown_user, sender_is_own_address, sender_exists,
    // too_many_senders (add); unknown_sender (remove).
    Result<User> add_sender(const crypto::KeySet& keys, std::string_view address, std::string_view sender);
    Result<User> remove_sender(const crypto::KeySet& keys, std::string_view address, std::string_view sender);

    // ---- Closure (directory_closure.cc): control thread only. ----------------------------------
    // Closing keeps every record; only the state changes (and the session tokens are voided).
    // close_user refuses an account already closed (account_closed); reopen_user one not closed
    // (account_not_closed), one whose purge began (account_purged), and one closed with its
    // organisation while that stays closed (org_closed).
    Result<User> close_user(const crypto::KeySet& keys, std::string_view address, std::int64_t now_unix);
    Result<User> reopen_user(const crypto::KeySet& keys, std::string_view address);
    // The organisation and every open user of it, in one transaction; reopen gives back the users
    // its closure closed (those closed on their own before stay closed).
    Result<Organisation> close_org(const crypto::KeySet& keys, std::string_view name, std::int64_t now_unix);
    Result<Organisation> reopen_org(const crypto::KeySet& keys, std::string_view name);
    // From here on nothing reopens it (refused when not closed: account_not_closed / org_not_closed).
    Result<User> mark_purging(const crypto::KeySet& keys, std::uint64_t user_id);
    Result<Organisation> mark_org_purging(const crypto::KeySet& keys, std::uint64_t org_id);
    // The last directory step of a purge: the record and its index entry go (the address is free
    // again), and a shred marker is left for the scope key, in one transaction. Only a purging
    // record is removed; one already gone is fine (a resumed purge).
    Result<void> remove_user(const crypto::KeySet& keys, std::uint64_t user_id);
    // The organisation and its domains; refused (std::errc::directory_not_empty) while it has users.
    Result<void> remove_org(const crypto::KeySet& keys, std::uint64_t org_id);
    // Scopes whose key must still be destroyed, at most max; and the marker's removal once it is.
    Result<std::vector<crypto::Scope>> pending_shreds(std::size_t max) const;
    Result<void> shred_done(const crypto::Scope& scope);
    // Users with id >= from_id in id order, at most max; next_id is where the next page starts
    // (nullopt after the last user). For bounded, resumable walks.
    struct UsersPage {
        std::vector<User> users;
        std::optional<std::uint64_t> next_id;
    };
    Result<UsersPage> users_page(store::ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t from_id,
                                 std::size_t max) const;

    // ---- Readers: any thread, inside the caller's transaction. ----------------------------------
    template <class Txn>
    Result<User> find_user(Txn& txn, const crypto::KeySet& keys, std::string_view address) const;
    template <class Txn>
    Result<User> user(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const;
    template <class Txn>
    Result<Domain> find_domain(Txn& txn, const crypto::KeySet& keys, std::string_view name) const;
    template <class Txn>
    Result<Organisation> find_org(Txn& txn, const crypto::KeySet& keys, std::string_view name) const;
    template <class Txn>
    Result<Organisation> org(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const;

    Result<std::vector<Organisation>> list_orgs(store::ReadTxn& txn, const crypto::KeySet& keys) const;
    Result<std::vector<Domain>> list_domains(store::ReadTxn& txn, const crypto::KeySet& keys) const;
    // Every user, or those of one domain (unknown_domain when it does not exist).
    Result<std::vector<User>> list_users(store::ReadTxn& txn, const crypto::KeySet& keys,
                                         std::optional<std::string_view> domain) const;

    store::Env& env() const noexcept { return *env_; }

    enum class Kind : std::uint8_t { org = 1, domain = 2, user = 3 };

private:
    Directory(store::Env& env, store::Dbi records, store::Dbi index, store::Dbi meta, crypto::SecretBytes index_key)
        : env_(&env), records_(records), index_(index), meta_(meta), index_key_(std::move(index_key)) {}

    std::array<std::uint8_t, 17> index_key_of(Kind kind, std::string_view lower_name) const;
    template <class Txn>
    Result<std::uint64_t> lookup(Txn& txn, Kind kind, std::string_view lower_name) const;
    template <class Txn>
    Result<std::vector<std::uint8_t>> load(Txn& txn, const crypto::KeySet& keys, Kind kind, std::uint64_t id) const;
    Result<void> store_record(store::WriteTxn& txn, const crypto::KeySet& keys, Kind kind, std::uint64_t id,
                              const std::vector<std::uint8_t>& plain);
    Result<std::uint64_t> next_id(store::WriteTxn& txn);
    template <class Txn>
    Result<std::vector<User>> users_of_org(Txn& txn, const crypto::KeySet& keys, std::uint64_t org_id) const;
    template <class Change>
    Result<User> change_senders(const crypto::KeySet& keys, std::string_view address, Change change);
    template <class T, class Decode>
    Result<std::vector<T>> list(store::ReadTxn& txn, const crypto::KeySet& keys, Kind kind, Decode decode) const;

    store::Env* env_;
    store::Dbi records_;
    store::Dbi index_;
    store::Dbi meta_;
    crypto::SecretBytes index_key_;
};

// Lower-cases ASCII letters: addresses, domains and organisation names are matched case-blind.
std::string lower_ascii(std::string_view text);

}  // namespace vmx
