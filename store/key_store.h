// KeyStore: the key hierarchy's home in the global `keys` environment. It holds each scope key's
// record (versions, states, wrapped material: never a key in the clear) and the master key's
// public fingerprint, which binds the data folder to its master key: a daemon started with another
// master key stops at once instead of failing record by record. Only the control thread writes it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>
#include <string_view>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"

namespace vmx::store {

class KeyStore {
public:
    static Result<KeyStore> open(Env& keys_env);

    // The keyring under this master key. A new store records the key's fingerprint; an existing
    // one must match it (crypto authentication_failed otherwise).
    Result<crypto::Keyring> load(crypto::MasterKey master);
    // Writes the records the ring changed since its last saved() (every record with `everything`)
    // and the current master fingerprint in one durable transaction. The caller calls
    // ring.saved() after success. One record per user exists (account keys), so a change writes
    // only what it touched.
    Result<void> save(const crypto::Keyring& ring, bool everything = false);
    // A master-key rotation, in one durable transaction: every record (rewrapped by
    // Keyring::rotate_master), the new fingerprint, every held key rewrapped from `from` to the
    // ring's new master key, and `also` (the appliance secrets resealed). Nothing moves unless all do.
    Result<void> save_master_rotation(const crypto::Keyring& ring, const crypto::MasterKey& from,
                                      const std::function<Result<void>(WriteTxn&)>& also);

    // A key the appliance keeps wrapped under the master key ("held-key:NAME" in meta), so that it
    // outlives a master-key rotation (the directory index key, the log spool key). A store from
    // before held keys has none: `initial` (what was derived from the master key until then) is
    // stored and returned. crypto authentication_failed for a wrap that is not this master key's.
    Result<crypto::SecretBytes> held_key(const crypto::MasterKey& master, std::string_view name, crypto::SecretBytes initial);
    // The same without writing (a reader beside the daemon): `initial` when none is stored yet.
    Result<crypto::SecretBytes> read_held_key(const crypto::MasterKey& master, std::string_view name,
                                              crypto::SecretBytes initial) const;

    // The stored records as they are, nothing unwrapped (a backup's key store, which this process
    // only rewrites: it takes shredded keys out, it never needs a key in the clear).
    Result<std::vector<crypto::ScopeKeyRecord>> stored_records() const;
    // Writes these records over the stored ones of the same key id, in one durable transaction.
    Result<void> put_records(std::span<const crypto::ScopeKeyRecord> records);

    // Counts every write of key records (save, put_records, a master rotation): a node of a shared
    // store that sees it change reloads the keys another node changed. 0 before the first.
    Result<std::uint64_t> generation() const;
    // The generation this handle's last write committed (0: none yet).
    std::uint64_t written_generation() const noexcept { return written_generation_; }

    // A named one-time step of the key store that is done (the migration to account keys).
    Result<bool> step_done(std::string_view name) const;
    Result<void> mark_step_done(std::string_view name);

private:
    KeyStore(Env& env, Dbi records, Dbi meta) : env_(&env), records_(records), meta_(meta) {}
    // Counts the write up (in the same transaction) and commits it.
    Result<void> commit_counted(WriteTxn& txn);
    Env* env_;
    Dbi records_;
    Dbi meta_;
    std::uint64_t written_generation_ = 0;
};

}  // namespace vmx::store
