// KeyService (see key_service.h).
#include "appliance/keys/key_service.h"

#include <algorithm>

#include "crypto/errc.h"

namespace vmx {

Result<void> KeyService::ensure(const crypto::Scope& scope, std::int64_t now_unix) {
    const std::size_t before = keys_.ring.records().size();
    if (auto r = keys_.ring.ensure_scope_key(scope, now_unix); !r) return fail(r.error());
    if (keys_.ring.records().size() == before) return {};
    return save_and_publish();
}

Result<std::size_t> KeyService::ensure_accounts(std::span<const AccountScope> accounts, std::int64_t now_unix) {
    for (const AccountScope& a : accounts) {
        auto r = keys_.ring.ensure_account_key(a.user_id, a.parent, now_unix);
        // A shredded account (purged, its record not yet gone) keeps no key.
        if (!r && r.error() != crypto::CryptoErrc::key_destroyed) return fail(r.error());
    }
    const std::size_t changed = keys_.ring.changed().size();
    if (changed == 0) return std::size_t{0};
    if (auto r = save_and_publish(); !r) return fail(r.error());
    return changed;
}

Result<crypto::KeyRef> KeyService::rotate(const crypto::Scope& scope, std::int64_t now_unix) {
    for (const crypto::ScopeKeyRecord& record : keys_.ring.records()) {
        if (record.scope != scope) continue;
        auto ref = keys_.ring.rotate(record.key_id, now_unix);
        if (!ref) return fail(ref.error());
        if (auto saved = save_and_publish(); !saved) return fail(saved.error());
        return *ref;
    }
    return fail(crypto::CryptoErrc::key_not_found);
}

Result<void> KeyService::finish_retirement(crypto::KeyRef retired) {
    if (auto r = keys_.ring.finish_retirement(retired); !r) return r;
    return save_and_publish();
}

Result<bool> KeyService::destroy_scope(const crypto::Scope& scope) {
    std::vector<crypto::Scope> scopes{scope};
    if (scope.kind == crypto::ScopeKind::user) scopes.push_back(crypto::account_scope(scope.owner));
    bool destroyed = false;
    for (const crypto::Scope& s : scopes) {
        for (const crypto::ScopeKeyRecord& record : keys_.ring.records()) {
            if (record.scope != s) continue;
            const bool live = std::any_of(record.versions.begin(), record.versions.end(), [](const crypto::KeyVersion& v) {
                return v.state != crypto::KeyState::destroyed;
            });
            if (!live) break;
            if (auto r = keys_.ring.destroy(record.key_id); !r) return fail(r.error());
            destroyed = true;
            break;
        }
    }
    if (!destroyed) return false;
    if (auto r = save_and_publish(); !r) return fail(r.error());
    if (shredded_) shredded_();
    return true;
}

std::vector<crypto::KeyRef> KeyService::retiring() const {
    std::vector<crypto::KeyRef> out;
    for (const crypto::ScopeKeyRecord& record : keys_.ring.records())
        for (const crypto::KeyVersion& v : record.versions)
            if (v.state == crypto::KeyState::retiring) out.push_back({record.key_id, v.version});
    return out;
}

Result<void> KeyService::set_appliance_secret(std::string_view name, std::span<const std::uint8_t> value,
                                              std::int64_t now_unix) {
    if (auto r = keys_.secrets.set(keys_.ring.master(), name, value, now_unix); !r) return r;
    if (secret_changed_) secret_changed_(name);
    return {};
}

Result<bool> KeyService::remove_appliance_secret(std::string_view name) {
    auto removed = keys_.secrets.remove(name);
    if (removed && *removed && secret_changed_) secret_changed_(name);
    return removed;
}

Result<void> KeyService::rotate_master(crypto::MasterKey next) {
    if (next.check == keys_.ring.master_check()) return fail(crypto::CryptoErrc::invalid_argument);
    crypto::MasterKey previous = crypto::copy_of(keys_.ring.master());
    if (auto r = keys_.ring.rotate_master(std::move(next)); !r) return r;
    auto saved = keys_.store.save_master_rotation(keys_.ring, previous, [this, &previous](store::WriteTxn& txn) {
        return keys_.secrets.reseal(txn, previous, keys_.ring.master());
    });
    if (!saved) {
        // Nothing was written: the ring goes back to the key the store is still under.
        if (auto back = keys_.ring.rotate_master(std::move(previous)); !back) return fail(back.error());
        keys_.ring.saved();
        return saved;
    }
    keys_.ring.saved();
    own_write_seen();
    if (master_rotated_) master_rotated_(keys_.ring.master());
    return {};
}

// This node's own write moved the generation by one: follow_store need not load what it wrote.
// Any other gap (another node wrote too) is left for follow_store.
void KeyService::own_write_seen() noexcept {
    const std::uint64_t written = keys_.store.written_generation();
    if (seen_generation_ && *seen_generation_ + 1 == written) seen_generation_ = written;
}

Result<bool> KeyService::follow_store() {
    auto generation = keys_.store.generation();
    if (!generation) return fail(generation.error());
    if (seen_generation_ == *generation) return false;
    seen_generation_ = *generation;
    auto ring = keys_.store.load(crypto::copy_of(keys_.ring.master()));
    if (!ring) return fail(ring.error());
    keys_.ring = std::move(*ring);
    snapshot_ = keys_.ring.snapshot();
    if (publish_) publish_(snapshot_);
    return true;
}

Result<void> KeyService::save_and_publish() {
    if (auto r = keys_.store.save(keys_.ring); !r) {
        // Another node saved keys this ring has not seen (a shared store): take what is stored, so
        // that the command, run again, numbers its keys after theirs. Nothing of this one was written.
        if (r.error() == store::StoreErrc::conflict) (void)follow_store();
        return r;
    }
    keys_.ring.saved();
    own_write_seen();
    snapshot_ = keys_.ring.snapshot();
    if (publish_) publish_(snapshot_);
    return {};
}

}  // namespace vmx
