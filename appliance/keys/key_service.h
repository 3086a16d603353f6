// KeyService: the control thread's hold on the key hierarchy. It owns the Keyring and its KeyStore,
// creates scope keys when the directory first needs them (an organisation on the pro plan, a user
// on ultimate), rotates keys, saves every change durably before anyone uses it, and then publishes
// a new immutable KeySet snapshot to whoever listens (the shards). Control thread only.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "appliance/keys/key_setup.h"
#include "core/result.h"
#include "crypto/keyring.h"

namespace vmx {

class KeyService {
public:
    using Publish = std::function<void(std::shared_ptr<const crypto::KeySet>)>;

    explicit KeyService(OpenedKeys keys) : keys_(std::move(keys)), snapshot_(keys_.ring.snapshot()) {}

    // Called with each new snapshot after it is saved (vaultmxd sends it to every shard).
    void on_publish(Publish publish) { publish_ = std::move(publish); }

    // The scope's key exists (created, saved and published if it did not).
    Result<void> ensure(const crypto::Scope& scope, std::int64_t now_unix);
    // A new active version of the scope's key; the old one retires until its records are rewrapped.
    Result<crypto::KeyRef> rotate(const crypto::Scope& scope, std::int64_t now_unix);

    // Destroys a version whose records have all been rewrapped (saved and published).
    Result<void> finish_retirement(crypto::KeyRef retired);
    // Versions rotated out and still waiting for their records to be rewrapped.
    std::vector<crypto::KeyRef> retiring() const;

    std::shared_ptr<const crypto::KeySet> snapshot() const noexcept { return snapshot_; }
    const std::vector<crypto::ScopeKeyRecord>& records() const noexcept { return keys_.ring.records(); }

private:
    Result<void> save_and_publish();

    OpenedKeys keys_;
    std::shared_ptr<const crypto::KeySet> snapshot_;
    Publish publish_;
};

}  // namespace vmx
