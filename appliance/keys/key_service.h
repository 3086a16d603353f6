// KeyService: the control thread's hold on the key hierarchy. It owns the Keyring and its KeyStore,
// creates scope keys when the directory first needs them (an organisation on the pro plan, a user
// on ultimate), rotates keys, saves every change durably before anyone uses it, and then publishes
// a new immutable KeySet snapshot to whoever listens (the shards). It also sets and removes the
// appliance secrets (appliance_secrets.h) and tells a listener which one changed. Control thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "appliance/keys/key_setup.h"
#include "core/result.h"
#include "crypto/keyring.h"

namespace vmx {

class KeyService {
public:
    using Publish = std::function<void(std::shared_ptr<const crypto::KeySet>)>;
    using SecretChanged = std::function<void(std::string_view name)>;

    explicit KeyService(OpenedKeys keys) : keys_(std::move(keys)), snapshot_(keys_.ring.snapshot()) {}

    // A shared store: when the key store's generation moved since this service last saw it (another
    // node changed keys), the ring is loaded again and published. True when it was. Control thread.
    Result<bool> follow_store();

    // Called with each new snapshot after it is saved (vaultmxd sends it to every shard).
    void on_publish(Publish publish) { publish_ = std::move(publish); }
    // Called after a key was destroyed and saved (vaultmxd then takes it out of every key backup).
    void on_shredded(std::function<void()> shredded) { shredded_ = std::move(shredded); }

    // Records written before account keys existed are sealed under plan scope keys; once every
    // user has an account key, one clean rewrap walk moves them and this step is marked done.
    Result<bool> accounts_migrated() const { return keys_.store.step_done(account_migration); }
    Result<void> mark_accounts_migrated() { return keys_.store.mark_step_done(account_migration); }
    static constexpr std::string_view account_migration = "account-keys";

    // The scope's key exists (created, saved and published if it did not).
    Result<void> ensure(const crypto::Scope& scope, std::int64_t now_unix);
    // Each user's account key exists, wrapped by the given plan scope (created, or rewrapped after
    // a plan change); one save and one publish for all of them. How many were created or moved.
    struct AccountScope {
        std::uint64_t user_id = 0;
        crypto::Scope parent;
    };
    Result<std::size_t> ensure_accounts(std::span<const AccountScope> accounts, std::int64_t now_unix);
    // A new active version of the scope's key; the old one retires until its records are rewrapped.
    Result<crypto::KeyRef> rotate(const crypto::Scope& scope, std::int64_t now_unix);

    // Crypto-shredding of a purged account's or organisation's own key: every version of the
    // scope's key (and of the account keys it wraps) is destroyed, saved and published; a user
    // scope takes the user's account key with it. True when a live key was destroyed now; false
    // when the scope has none or it was destroyed before (so a resumed purge can call it again).
    Result<bool> destroy_scope(const crypto::Scope& scope);
    // Destroys a version whose records have all been rewrapped (saved and published).
    Result<void> finish_retirement(crypto::KeyRef retired);
    // Versions rotated out and still waiting for their records to be rewrapped.
    std::vector<crypto::KeyRef> retiring() const;

    // Called with a secret's name after it was set or removed durably (vaultmxd tells the shards,
    // whose delivery agents load it again with appliance_secret()). Never with the value.
    void on_secret_changed(SecretChanged changed) { secret_changed_ = std::move(changed); }
    Result<void> set_appliance_secret(std::string_view name, std::span<const std::uint8_t> value, std::int64_t now_unix);
    // True when there was one to remove.
    Result<bool> remove_appliance_secret(std::string_view name);
    // The opened value, nullopt when none is set (ApplianceSecrets::get).
    Result<std::optional<crypto::SecretBytes>> appliance_secret(std::string_view name) const {
        return keys_.secrets.get(keys_.ring.master(), name);
    }
    Result<std::vector<SecretInfo>> appliance_secrets() const { return keys_.secrets.list(); }
    // The store itself, for readers on other threads that hold their own copy of the master key.
    const ApplianceSecrets& secret_store() const noexcept { return keys_.secrets; }

    // A key kept wrapped under the master key (KeyStore::held_key): the stored one, or `initial`
    // stored on first use.
    Result<crypto::SecretBytes> held_key(std::string_view name, crypto::SecretBytes initial) {
        return keys_.store.held_key(keys_.ring.master(), name, std::move(initial));
    }
    // The master key becomes `next`: every master-wrapped scope key, every held key and every
    // appliance secret is wrapped again under it, with its fingerprint, in one durable transaction;
    // from then on only `next` opens the store. Scope keys themselves, and so every record, stay as
    // they are. invalid_argument when `next` is the current key. Then `master_rotated` is called.
    Result<void> rotate_master(crypto::MasterKey next);
    void on_master_rotated(std::function<void(const crypto::MasterKey&)> rotated) { master_rotated_ = std::move(rotated); }

    std::shared_ptr<const crypto::KeySet> snapshot() const noexcept { return snapshot_; }
    // For the backup schedule: the environment to copy (through this handle) and the master key
    // that seals the manifest (copied for the backup's thread).
    store::Env& env() const noexcept { return *keys_.env; }
    const crypto::MasterKey& master() const noexcept { return keys_.ring.master(); }
    const std::vector<crypto::ScopeKeyRecord>& records() const noexcept { return keys_.ring.records(); }

private:
    Result<void> save_and_publish();
    void own_write_seen() noexcept;

    OpenedKeys keys_;
    std::shared_ptr<const crypto::KeySet> snapshot_;
    Publish publish_;
    SecretChanged secret_changed_;
    std::function<void()> shredded_;
    std::function<void(const crypto::MasterKey&)> master_rotated_;
    std::optional<std::uint64_t> seen_generation_;  // follow_store's last look
};

}  // namespace vmx
