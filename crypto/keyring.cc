// Key hierarchy: wrapping plan scope keys under the master key and account keys under them,
// versions, rotation, destruction, and the immutable snapshots shards read.
#include "crypto/keyring.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"

namespace vmx::crypto {
namespace {

constexpr std::uint8_t record_format_master = 1;   // every version wrapped by the master key
constexpr std::uint8_t record_format_wrapped = 2;  // each version names its wrapping key version
constexpr std::size_t scope_key_bytes = 32;
constexpr std::size_t wrapped_bytes = scope_key_bytes + 8;
constexpr std::size_t versions_max = 4096;

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    bool u8(std::uint8_t& v) {
        if (pos_ + 1 > bytes_.size()) return false;
        v = bytes_[pos_++];
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (pos_ + 4 > bytes_.size()) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) v = v << 8 | bytes_[pos_++];
        return true;
    }
    bool u64(std::uint64_t& v) {
        if (pos_ + 8 > bytes_.size()) return false;
        v = 0;
        for (int i = 0; i < 8; ++i) v = v << 8 | bytes_[pos_++];
        return true;
    }
    bool take(std::size_t n, std::vector<std::uint8_t>& out) {
        if (pos_ + n > bytes_.size()) return false;
        out.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_), bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
        pos_ += n;
        return true;
    }
    bool done() const { return pos_ == bytes_.size(); }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

bool valid_kind(std::uint8_t k) { return k >= 1 && k <= 5; }
bool valid_state(std::uint8_t s) { return s >= 1 && s <= 3; }

std::span<const std::uint8_t, 32> key_span(const SecretBytes& s) {
    VMX_ASSERT(s.size() == scope_key_bytes);
    return std::span<const std::uint8_t, 32>(s.view().data(), 32);
}

}  // namespace

Scope scope_for(Plan plan, std::uint64_t organisation_id, std::uint64_t user_id) noexcept {
    switch (plan) {
        case Plan::starter: return {ScopeKind::shared, 0};
        case Plan::pro: return {ScopeKind::organisation, organisation_id};
        case Plan::ultimate: return {ScopeKind::user, user_id};
    }
    return {ScopeKind::shared, 0};
}

// ---------------------------------------------------------------- encoding

std::vector<std::uint8_t> encode_key_record(const ScopeKeyRecord& record) {
    const bool wrapped_by_keys = std::any_of(record.versions.begin(), record.versions.end(),
                                             [](const KeyVersion& v) { return v.wrapped_by.key_id != 0; });
    std::vector<std::uint8_t> out;
    out.push_back(wrapped_by_keys ? record_format_wrapped : record_format_master);
    put_u64(out, record.key_id);
    out.push_back(static_cast<std::uint8_t>(record.scope.kind));
    put_u64(out, record.scope.owner);
    put_u32(out, static_cast<std::uint32_t>(record.versions.size()));
    for (const KeyVersion& v : record.versions) {
        put_u32(out, v.version);
        put_u64(out, static_cast<std::uint64_t>(v.created_unix));
        out.push_back(static_cast<std::uint8_t>(v.state));
        out.push_back(static_cast<std::uint8_t>(v.wrapped.size()));
        out.insert(out.end(), v.wrapped.begin(), v.wrapped.end());
        if (wrapped_by_keys) {
            put_u64(out, v.wrapped_by.key_id);
            put_u32(out, v.wrapped_by.version);
        }
    }
    return out;
}

Result<ScopeKeyRecord> decode_key_record(std::span<const std::uint8_t> bytes) {
    Reader in(bytes);
    std::uint8_t format = 0;
    if (!in.u8(format)) return fail(CryptoErrc::bad_record);
    if (format != record_format_master && format != record_format_wrapped) return fail(CryptoErrc::unsupported_version);
    ScopeKeyRecord r;
    std::uint8_t kind = 0;
    std::uint32_t count = 0;
    if (!in.u64(r.key_id) || !in.u8(kind) || !in.u64(r.scope.owner) || !in.u32(count)) return fail(CryptoErrc::bad_record);
    if (!valid_kind(kind) || count > versions_max || r.key_id == 0) return fail(CryptoErrc::bad_record);
    r.scope.kind = static_cast<ScopeKind>(kind);
    std::uint32_t previous = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        KeyVersion v;
        std::uint64_t created = 0;
        std::uint8_t state = 0;
        std::uint8_t wrapped_length = 0;
        if (!in.u32(v.version) || !in.u64(created) || !in.u8(state) || !in.u8(wrapped_length))
            return fail(CryptoErrc::bad_record);
        if (!valid_state(state) || v.version <= previous) return fail(CryptoErrc::bad_record);
        v.state = static_cast<KeyState>(state);
        const bool destroyed = v.state == KeyState::destroyed;
        if (wrapped_length != (destroyed ? 0 : wrapped_bytes)) return fail(CryptoErrc::bad_record);
        if (!in.take(wrapped_length, v.wrapped)) return fail(CryptoErrc::bad_record);
        if (format == record_format_wrapped) {
            if (!in.u64(v.wrapped_by.key_id) || !in.u32(v.wrapped_by.version)) return fail(CryptoErrc::bad_record);
            if (v.wrapped_by.key_id == r.key_id || (v.wrapped_by.key_id == 0) != (v.wrapped_by.version == 0))
                return fail(CryptoErrc::bad_record);
        }
        v.created_unix = static_cast<std::int64_t>(created);
        previous = v.version;
        r.versions.push_back(std::move(v));
    }
    if (!in.done()) return fail(CryptoErrc::bad_record);
    // One encoding per record: format 2 only when some version names a wrapping key.
    const bool wrapped_by_keys = std::any_of(r.versions.begin(), r.versions.end(),
                                             [](const KeyVersion& v) { return v.wrapped_by.key_id != 0; });
    if ((format == record_format_wrapped) != wrapped_by_keys) return fail(CryptoErrc::bad_record);
    const auto active = std::count_if(r.versions.begin(), r.versions.end(),
                                      [](const KeyVersion& v) { return v.state == KeyState::active; });
    if (active > 1) return fail(CryptoErrc::bad_record);
    return r;
}

// ---------------------------------------------------------------- wrapping

// Each version is wrapped under its own key-encryption key, derived from the wrapping key (the
// master key, or a live version of a scope key) and the version's identity, so a wrapped blob moved
// to another key id, version or wrapper does not unwrap.
namespace {

std::string wrap_info(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper) {
    if (wrapper.key_id == 0) return "vaultmx scope-key wrap v1 " + std::to_string(key_id) + "/" + std::to_string(version);
    return "vaultmx account-key wrap v1 " + std::to_string(key_id) + "/" + std::to_string(version) + " by " +
           std::to_string(wrapper.key_id) + "/" + std::to_string(wrapper.version);
}

}  // namespace

// The key-encryption key of one version under its wrapper; `missing` when the wrapping version is
// not live in this ring.
Result<SecretBytes> Keyring::kek(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper, CryptoErrc missing) const {
    std::span<const std::uint8_t> ikm = master_.material.view();
    if (wrapper.key_id != 0) {
        auto it = keys_.find({wrapper.key_id, wrapper.version});
        if (it == keys_.end()) return fail(missing);
        ikm = it->second->view();
    }
    return hkdf_sha256(ikm, {}, wrap_info(key_id, version, wrapper), 32);
}

Result<std::vector<std::uint8_t>> Keyring::wrap(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper,
                                                std::span<const std::uint8_t> key) const {
    auto kek = this->kek(key_id, version, wrapper, CryptoErrc::key_not_found);
    if (!kek) return fail(kek.error());
    std::vector<std::uint8_t> out(wrapped_bytes);
    if (auto r = key_wrap(key_span(*kek), key, out); !r) return fail(r.error());
    return out;
}

Result<SecretBytes> Keyring::unwrap(std::uint64_t key_id, std::uint32_t version, KeyRef wrapper,
                                    std::span<const std::uint8_t> wrapped) const {
    if (wrapped.size() != wrapped_bytes) return fail(CryptoErrc::bad_record);
    auto kek = this->kek(key_id, version, wrapper, CryptoErrc::key_destroyed);
    if (!kek) return fail(kek.error());
    SecretBytes key = SecretBytes::zeroed(scope_key_bytes);
    if (auto r = key_unwrap(key_span(*kek), wrapped, key.mutable_view()); !r) return fail(r.error());
    return key;
}

// ---------------------------------------------------------------- Keyring

Keyring Keyring::create(MasterKey master) { return Keyring(std::move(master)); }

// Master-wrapped keys first, then the account keys they wrap. An account version whose wrapping
// version is gone (its organisation's key was shredded) is destroyed with it.
Result<Keyring> Keyring::load(MasterKey master, std::vector<ScopeKeyRecord> records) {
    Keyring ring(std::move(master));
    for (const bool by_master : {true, false}) {
        for (ScopeKeyRecord& r : records) {
            for (KeyVersion& v : r.versions) {
                if (v.state == KeyState::destroyed || (v.wrapped_by.key_id == 0) != by_master) continue;
                auto key = ring.unwrap(r.key_id, v.version, v.wrapped_by, v.wrapped);
                if (!key && key.error() == CryptoErrc::key_destroyed) {
                    v.state = KeyState::destroyed;
                    secure_wipe(v.wrapped);
                    v.wrapped.clear();
                    ring.mark_changed(r.key_id);
                    continue;
                }
                if (!key) return fail(key.error());
                ring.keys_[{r.key_id, v.version}] = std::make_shared<const SecretBytes>(std::move(*key));
            }
            ring.next_key_id_ = std::max(ring.next_key_id_, r.key_id + 1);
        }
    }
    ring.records_ = std::move(records);
    return ring;
}

ScopeKeyRecord* Keyring::find_record(std::uint64_t key_id) {
    for (auto& r : records_)
        if (r.key_id == key_id) return &r;
    return nullptr;
}

ScopeKeyRecord* Keyring::find_scope(const Scope& scope) {
    for (auto& r : records_)
        if (r.scope == scope) return &r;
    return nullptr;
}

void Keyring::mark_changed(std::uint64_t key_id) {
    if (std::find(changed_.begin(), changed_.end(), key_id) == changed_.end()) changed_.push_back(key_id);
}

Result<void> Keyring::add_version(ScopeKeyRecord& record, std::uint32_t version, KeyRef wrapper, std::int64_t now_unix) {
    auto key = SecretBytes::random(scope_key_bytes);
    if (!key) return fail(key.error());
    auto wrapped = wrap(record.key_id, version, wrapper, key->view());
    if (!wrapped) return fail(wrapped.error());
    KeyVersion v{version, now_unix, KeyState::active, std::move(*wrapped), wrapper};
    record.versions.push_back(std::move(v));
    keys_[{record.key_id, version}] = std::make_shared<const SecretBytes>(std::move(*key));
    mark_changed(record.key_id);
    return {};
}

namespace {

const KeyVersion* active_version(const ScopeKeyRecord& record) {
    for (const auto& v : record.versions)
        if (v.state == KeyState::active) return &v;
    return nullptr;
}

}  // namespace

Result<KeyRef> Keyring::ensure_scope_key(const Scope& scope, std::int64_t now_unix) {
    if (scope.kind == ScopeKind::account) return fail(CryptoErrc::invalid_argument);
    if (const ScopeKeyRecord* r = find_scope(scope)) {
        if (const KeyVersion* v = active_version(*r)) return KeyRef{r->key_id, v->version};
        return fail(CryptoErrc::key_destroyed);  // a shredded scope stays shredded
    }
    ScopeKeyRecord record;
    record.key_id = next_key_id_;
    record.scope = scope;
    if (auto r = add_version(record, 1, {}, now_unix); !r) return fail(r.error());
    ++next_key_id_;
    records_.push_back(std::move(record));
    return KeyRef{records_.back().key_id, 1};
}

Result<KeyRef> Keyring::ensure_account_key(std::uint64_t user_id, const Scope& parent, std::int64_t now_unix) {
    if (parent.kind == ScopeKind::account || parent.kind == ScopeKind::appliance) return fail(CryptoErrc::invalid_argument);
    auto wrapper = ensure_scope_key(parent, now_unix);
    if (!wrapper) return fail(wrapper.error());
    const Scope scope = account_scope(user_id);
    if (ScopeKeyRecord* r = find_scope(scope)) {
        const KeyVersion* active = active_version(*r);
        if (active == nullptr) return fail(CryptoErrc::key_destroyed);
        const KeyRef ref{r->key_id, active->version};
        if (active->wrapped_by == *wrapper) return ref;
        // A plan change: the same key, wrapped by the new plan's scope. The new wraps are made
        // before any old one is replaced, so a failure leaves the record as it was.
        std::vector<std::vector<std::uint8_t>> rewrapped;
        for (const KeyVersion& v : r->versions) {
            if (v.state == KeyState::destroyed) {
                rewrapped.emplace_back();
                continue;
            }
            auto wrapped = wrap(r->key_id, v.version, *wrapper, keys_.at({r->key_id, v.version})->view());
            if (!wrapped) return fail(wrapped.error());
            rewrapped.push_back(std::move(*wrapped));
        }
        for (std::size_t i = 0; i < r->versions.size(); ++i) {
            KeyVersion& v = r->versions[i];
            if (v.state == KeyState::destroyed) continue;
            secure_wipe(v.wrapped);
            v.wrapped = std::move(rewrapped[i]);
            v.wrapped_by = *wrapper;
        }
        mark_changed(r->key_id);
        return ref;
    }
    ScopeKeyRecord record;
    record.key_id = next_key_id_;
    record.scope = scope;
    if (auto r = add_version(record, 1, *wrapper, now_unix); !r) return fail(r.error());
    ++next_key_id_;
    records_.push_back(std::move(record));
    return KeyRef{records_.back().key_id, 1};
}

Result<KeyRef> Keyring::rotate(std::uint64_t key_id, std::int64_t now_unix) {
    ScopeKeyRecord* record = find_record(key_id);
    if (!record) return fail(CryptoErrc::key_not_found);
    KeyVersion* active = nullptr;
    for (auto& v : record->versions)
        if (v.state == KeyState::active) active = &v;
    if (!active) return fail(CryptoErrc::key_destroyed);
    const std::uint32_t next = record->versions.back().version + 1;
    // An account key's new version is wrapped by its scope's active version (the same wrapper).
    KeyRef wrapper = active->wrapped_by;
    if (wrapper.key_id != 0) {
        const ScopeKeyRecord* parent = find_record(wrapper.key_id);
        const KeyVersion* parent_active = parent ? active_version(*parent) : nullptr;
        if (parent_active == nullptr) return fail(CryptoErrc::key_destroyed);
        wrapper = {parent->key_id, parent_active->version};
    }
    active->state = KeyState::retiring;
    if (auto r = add_version(*record, next, wrapper, now_unix); !r) {
        // add_version may have reallocated nothing yet: restore the old active version.
        for (auto& v : record->versions)
            if (v.state == KeyState::retiring && v.version == next - 1) v.state = KeyState::active;
        return fail(r.error());
    }
    mark_changed(key_id);
    if (auto r = rotate_accounts_of(key_id, {key_id, next}, now_unix); !r) return fail(r.error());
    return KeyRef{key_id, next};
}

Result<void> Keyring::rotate_accounts_of(std::uint64_t parent_id, KeyRef wrapper, std::int64_t now_unix) {
    for (ScopeKeyRecord& r : records_) {
        if (r.scope.kind != ScopeKind::account) continue;
        KeyVersion* active = nullptr;
        for (auto& v : r.versions)
            if (v.state == KeyState::active) active = &v;
        if (active == nullptr || active->wrapped_by.key_id != parent_id) continue;
        active->state = KeyState::retiring;
        const std::uint32_t next = r.versions.back().version + 1;
        if (auto added = add_version(r, next, wrapper, now_unix); !added) return fail(added.error());
    }
    return {};
}

Result<void> Keyring::finish_retirement(KeyRef retired) {
    ScopeKeyRecord* record = find_record(retired.key_id);
    if (!record) return fail(CryptoErrc::key_not_found);
    for (auto& v : record->versions) {
        if (v.version != retired.version) continue;
        if (v.state == KeyState::active) return fail(CryptoErrc::invalid_argument);  // rotate first
        v.state = KeyState::destroyed;
        secure_wipe(v.wrapped);
        v.wrapped.clear();
        keys_.erase({retired.key_id, retired.version});
        mark_changed(retired.key_id);
        hkdf_prk_cache_clear();  // this thread's derived copies; shards clear theirs on snapshot swap
        return {};
    }
    return fail(CryptoErrc::key_not_found);
}

void Keyring::destroy_versions(ScopeKeyRecord& record) {
    for (auto& v : record.versions) {
        v.state = KeyState::destroyed;
        secure_wipe(v.wrapped);
        v.wrapped.clear();
        keys_.erase({record.key_id, v.version});
    }
    mark_changed(record.key_id);
}

Result<void> Keyring::destroy(std::uint64_t key_id) {
    ScopeKeyRecord* record = find_record(key_id);
    if (!record) return fail(CryptoErrc::key_not_found);
    destroy_versions(*record);
    // The account keys it wraps could never be unwrapped again: destroy them now, not at next load.
    for (ScopeKeyRecord& r : records_) {
        const bool wrapped_here = std::any_of(r.versions.begin(), r.versions.end(),
                                              [&](const KeyVersion& v) { return v.wrapped_by.key_id == key_id; });
        if (wrapped_here) destroy_versions(r);
    }
    hkdf_prk_cache_clear();  // this thread's derived copies; shards clear theirs on snapshot swap
    return {};
}

Result<void> Keyring::rotate_master(MasterKey new_master) {
    // Wrap everything under the new master first; swap only when all of it succeeded.
    std::vector<ScopeKeyRecord> rewrapped = records_;
    Keyring next(std::move(new_master));
    for (auto& r : rewrapped) {
        bool touched = false;
        for (auto& v : r.versions) {
            if (v.state == KeyState::destroyed || v.wrapped_by.key_id != 0) continue;
            auto it = keys_.find({r.key_id, v.version});
            VMX_ASSERT(it != keys_.end());
            auto wrapped = next.wrap(r.key_id, v.version, {}, it->second->view());
            if (!wrapped) return fail(wrapped.error());
            v.wrapped = std::move(*wrapped);
            touched = true;
        }
        if (touched) mark_changed(r.key_id);
    }
    master_ = std::move(next.master_);
    records_ = std::move(rewrapped);
    return {};
}

std::shared_ptr<const KeySet> Keyring::snapshot() const {
    auto set = std::make_shared<KeySet>();
    for (const auto& r : records_) {
        for (const auto& v : r.versions) {
            KeySet::Entry entry;
            if (v.state != KeyState::destroyed) entry.key = keys_.at({r.key_id, v.version});
            set->versions_[{r.key_id, v.version}] = std::move(entry);
            if (v.state == KeyState::active) set->active_[r.scope] = KeyRef{r.key_id, v.version};
        }
    }
    return set;
}

// ---------------------------------------------------------------- KeySet

Result<ActiveKey> KeySet::active(const Scope& scope) const {
    auto it = active_.find(scope);
    if (it == active_.end()) return fail(CryptoErrc::key_not_found);
    auto key = find(it->second);
    if (!key) return fail(key.error());
    return ActiveKey{it->second, *key};
}

Result<std::span<const std::uint8_t, 32>> KeySet::find(KeyRef ref) const {
    auto it = versions_.find({ref.key_id, ref.version});
    if (it == versions_.end()) return fail(CryptoErrc::key_not_found);
    if (!it->second.key) return fail(CryptoErrc::key_destroyed);
    return key_span(*it->second.key);
}

Result<std::span<const std::uint8_t, 32>> KeySet::key_named_by(std::span<const std::uint8_t> head,
                                                               RecordIdentity& identity) const {
    auto ref = peek_key(head);
    if (!ref) return fail(ref.error());
    identity.key = *ref;
    return find(*ref);
}

Result<std::vector<std::uint8_t>> KeySet::seal(const Scope& scope, RecordIdentity identity,
                                               std::span<const std::uint8_t> plaintext) const {
    auto active_key = active(scope);
    if (!active_key) return fail(active_key.error());
    identity.key = active_key->ref;
    return crypto::seal(active_key->key, identity, plaintext);
}

Result<std::vector<std::uint8_t>> KeySet::open(RecordIdentity identity, std::span<const std::uint8_t> record) const {
    auto key = key_named_by(record, identity);
    if (!key) return fail(key.error());
    return crypto::open(*key, identity, record);
}

Result<StreamSealer> KeySet::begin_stream(const Scope& scope, RecordIdentity identity) const {
    auto active_key = active(scope);
    if (!active_key) return fail(active_key.error());
    identity.key = active_key->ref;
    return StreamSealer::begin(active_key->key, identity);
}

Result<StreamOpener> KeySet::open_stream(RecordIdentity identity, std::span<const std::uint8_t> head) const {
    auto key = key_named_by(head, identity);
    if (!key) return fail(key.error());
    return StreamOpener::begin(*key, identity, head);
}

bool KeySet::needs_rewrap(const Scope& scope, std::span<const std::uint8_t> record) const {
    auto shape = peek_shape(record);
    auto it = active_.find(scope);
    if (!shape || !shape->head || it == active_.end()) return false;
    if (shape->version == 1) return true;
    const KeyRef ref = *peek_key(record);
    return ref.key_id != it->second.key_id || ref.version != it->second.version;
}

Result<std::vector<std::uint8_t>> KeySet::rewrap_to_active(const Scope& scope, RecordIdentity identity,
                                                           std::span<const std::uint8_t> record) const {
    auto old_key = key_named_by(record, identity);
    if (!old_key) return fail(old_key.error());
    auto target = active(scope);
    if (!target) return fail(target.error());
    if (peek_shape(record)->version == 1) {  // a readable header (key_named_by checked it): upgrade
        auto plaintext = crypto::open(*old_key, identity, record);
        if (!plaintext) return fail(plaintext.error());
        identity.key = target->ref;
        auto upgraded = crypto::seal(target->key, identity, *plaintext);
        secure_wipe(*plaintext);
        return upgraded;
    }
    return crypto::rewrap(*old_key, target->key, target->ref, identity, record);
}

}  // namespace vmx::crypto
