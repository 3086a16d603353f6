// KeyStore: the key hierarchy's home in the global `keys` environment. It holds each scope key's
// record (versions, states, wrapped material: never a key in the clear) and the master key's
// public fingerprint, which binds the data folder to its master key: a daemon started with another
// master key stops at once instead of failing record by record. Only the control thread writes it.
#pragma once

#include <array>
#include <cstdint>

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
    // Writes every scope-key record and the current master fingerprint in one durable transaction
    // (after a rotation, a shredding or a master-key rotation).
    Result<void> save(const crypto::Keyring& ring);

private:
    KeyStore(Env& env, Dbi records, Dbi meta) : env_(&env), records_(records), meta_(meta) {}
    Env* env_;
    Dbi records_;
    Dbi meta_;
};

}  // namespace vmx::store
