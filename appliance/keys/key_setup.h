// Opening the key hierarchy of an instance: the store's `keys` environment, the master key's
// fingerprint check, and the keyring. Used by `vaultmx init` (which binds a new store to its master
// key) and by vaultmxd at start-up (which refuses a master key that does not match the store).
// Control thread only.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "appliance/keys/appliance_secrets.h"
#include "crypto/keyring.h"
#include "crypto/master_key.h"
#include "store/key_store.h"
#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {

struct OpenedKeys {
    std::unique_ptr<store::Env> env;  // the global `keys` environment
    store::KeyStore store;
    crypto::Keyring ring;
    ApplianceSecrets secrets;  // in the same environment
};

// A held key (KeyStore::read_held_key) read beside a running daemon, which is the key store's writer:
// the environment opened read-only. `initial` when none is stored yet.
Result<crypto::SecretBytes> read_held_key(const store::StoreLayout& layout, const crypto::MasterKey& master,
                                          std::string_view name, crypto::SecretBytes initial);

// On failure: one line naming what went wrong, for the admin.
std::variant<OpenedKeys, std::string> open_keys(const store::StoreLayout& layout, crypto::MasterKey master,
                                                const std::string& master_key_source);

}  // namespace vmx
