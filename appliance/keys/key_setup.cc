#include "appliance/keys/key_setup.h"

#include "crypto/errc.h"

namespace vmx {

std::variant<OpenedKeys, std::string> open_keys(const store::StoreLayout& layout, crypto::MasterKey master,
                                                const std::string& master_key_source) {
    const std::string path = layout.path(store::GlobalKind::keys);
    auto env = layout.open_env(store::GlobalKind::keys);
    if (!env) return "store: cannot open " + path + ": " + env.error().message();
    auto key_store = store::KeyStore::open(**env);
    if (!key_store) return "store: cannot open the key records in " + path + ": " + key_store.error().message();
    auto ring = key_store->load(std::move(master));
    if (!ring) {
        if (ring.error() == crypto::CryptoErrc::authentication_failed)
            return "keys.master_key_file: the master key from " + master_key_source +
                   " does not match the store in " + layout.data_dir() + " (it was initialised with another key)";
        return "store: cannot load the key records in " + path + ": " + ring.error().message();
    }
    auto secrets = ApplianceSecrets::open(**env);
    if (!secrets) return "store: cannot open the appliance secrets in " + path + ": " + secrets.error().message();
    return OpenedKeys{std::move(*env), std::move(*key_store), std::move(*ring), std::move(*secrets)};
}

Result<crypto::SecretBytes> read_held_key(const store::StoreLayout& layout, const crypto::MasterKey& master,
                                          std::string_view name, crypto::SecretBytes initial) {
    auto env = layout.open_env(store::GlobalKind::keys, store::EnvAccess::read_shared);
    if (!env) return fail(env.error());
    auto key_store = store::KeyStore::open(**env);
    if (!key_store) return fail(key_store.error());
    return key_store->read_held_key(master, name, std::move(initial));
}

}  // namespace vmx
