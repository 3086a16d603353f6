// Key hierarchy: wrapping scope keys under the master key, versions, rotation, destruction, and
// the immutable snapshots shards read.
#include "crypto/keyring.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"

namespace vmx::crypto {
namespace {

constexpr std::uint8_t record_format = 1;
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

bool valid_kind(std::uint8_t k) { return k >= 1 && k <= 4; }
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
    std::vector<std::uint8_t> out;
    out.push_back(record_format);
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
    }
    return out;
}

Result<ScopeKeyRecord> decode_key_record(std::span<const std::uint8_t> bytes) {
    Reader in(bytes);
    std::uint8_t format = 0;
    if (!in.u8(format)) return fail(CryptoErrc::bad_record);
    if (format != record_format) return fail(CryptoErrc::unsupported_version);
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
        v.created_unix = static_cast<std::int64_t>(created);
        previous = v.version;
        r.versions.push_back(std::move(v));
    }
    if (!in.done()) return fail(CryptoErrc::bad_record);
    const auto active = std::count_if(r.versions.begin(), r.versions.end(),
                                      [](const KeyVersion& v) { return v.state == KeyState::active; });
    if (active > 1) return fail(CryptoErrc::bad_record);
    return r;
}

// ---------------------------------------------------------------- wrapping under the master key

// Each version is wrapped under its own key-encryption key, derived from the master key and the
// version's identity, so a wrapped blob moved to another key id or version does not unwrap.
Result<std::vector<std::uint8_t>> Keyring::wrap(std::uint64_t key_id, std::uint32_t version,
                                                std::span<const std::uint8_t> key) const {
    const std::string info = "vaultmx scope-key wrap v1 " + std::to_string(key_id) + "/" + std::to_string(version);
    auto kek = hkdf_sha256(master_.material.view(), {}, info, 32);
    if (!kek) return fail(kek.error());
    std::vector<std::uint8_t> out(wrapped_bytes);
    if (auto r = key_wrap(key_span(*kek), key, out); !r) return fail(r.error());
    return out;
}

Result<SecretBytes> Keyring::unwrap(std::uint64_t key_id, std::uint32_t version,
                                    std::span<const std::uint8_t> wrapped) const {
    if (wrapped.size() != wrapped_bytes) return fail(CryptoErrc::bad_record);
    const std::string info = "vaultmx scope-key wrap v1 " + std::to_string(key_id) + "/" + std::to_string(version);
    auto kek = hkdf_sha256(master_.material.view(), {}, info, 32);
    if (!kek) return fail(kek.error());
    SecretBytes key = SecretBytes::zeroed(scope_key_bytes);
    if (auto r = key_unwrap(key_span(*kek), wrapped, key.mutable_view()); !r) return fail(r.error());
    return key;
}

// ---------------------------------------------------------------- Keyring

Keyring Keyring::create(MasterKey master) { return Keyring(std::move(master)); }

Result<Keyring> Keyring::load(MasterKey master, std::vector<ScopeKeyRecord> records) {
    Keyring ring(std::move(master));
    for (const ScopeKeyRecord& r : records) {
        for (const KeyVersion& v : r.versions) {
            if (v.state == KeyState::destroyed) continue;
            auto key = ring.unwrap(r.key_id, v.version, v.wrapped);
            if (!key) return fail(key.error());
            ring.keys_[{r.key_id, v.version}] = std::make_shared<const SecretBytes>(std::move(*key));
        }
        ring.next_key_id_ = std::max(ring.next_key_id_, r.key_id + 1);
    }
    ring.records_ = std::move(records);
    return ring;
}

ScopeKeyRecord* Keyring::find_record(std::uint64_t key_id) {
    for (auto& r : records_)
        if (r.key_id == key_id) return &r;
    return nullptr;
}

Result<void> Keyring::add_version(ScopeKeyRecord& record, std::uint32_t version, std::int64_t now_unix) {
    auto key = SecretBytes::random(scope_key_bytes);
    if (!key) return fail(key.error());
    auto wrapped = wrap(record.key_id, version, key->view());
    if (!wrapped) return fail(wrapped.error());
    record.versions.push_back({version, now_unix, KeyState::active, std::move(*wrapped)});
    keys_[{record.key_id, version}] = std::make_shared<const SecretBytes>(std::move(*key));
    return {};
}

Result<KeyRef> Keyring::ensure_scope_key(const Scope& scope, std::int64_t now_unix) {
    for (const auto& r : records_) {
        if (r.scope != scope) continue;
        for (const auto& v : r.versions)
            if (v.state == KeyState::active) return KeyRef{r.key_id, v.version};
        return fail(CryptoErrc::key_destroyed);  // a shredded scope stays shredded
    }
    ScopeKeyRecord record;
    record.key_id = next_key_id_;
    record.scope = scope;
    if (auto r = add_version(record, 1, now_unix); !r) return fail(r.error());
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
    active->state = KeyState::retiring;
    if (auto r = add_version(*record, next, now_unix); !r) {
        // add_version may have reallocated nothing yet: restore the old active version.
        for (auto& v : record->versions)
            if (v.state == KeyState::retiring && v.version == next - 1) v.state = KeyState::active;
        return fail(r.error());
    }
    return KeyRef{key_id, next};
}

Result<void> Keyring::finish_retirement(KeyRef retired) {
    ScopeKeyRecord* record = find_record(retired.key_id);
    if (!record) return fail(CryptoErrc::key_not_found);
    for (auto& v : record->versions) {
        if (v.version != retired.version) continue;
        if (v.state == KeyState::active) return fail(CryptoErrc::invalid_argument);  // rotate first
        v.state = KeyState::destroyed;
        std::fill(v.wrapped.begin(), v.wrapped.end(), std::uint8_t{0});
        v.wrapped.clear();
        keys_.erase({retired.key_id, retired.version});
        hkdf_prk_cache_clear();  // this thread's derived copies; shards clear theirs on snapshot swap
        return {};
    }
    return fail(CryptoErrc::key_not_found);
}

Result<void> Keyring::destroy(std::uint64_t key_id) {
    ScopeKeyRecord* record = find_record(key_id);
    if (!record) return fail(CryptoErrc::key_not_found);
    for (auto& v : record->versions) {
        v.state = KeyState::destroyed;
        std::fill(v.wrapped.begin(), v.wrapped.end(), std::uint8_t{0});
        v.wrapped.clear();
        keys_.erase({key_id, v.version});
    }
    hkdf_prk_cache_clear();  // this thread's derived copies; shards clear theirs on snapshot swap
    return {};
}

Result<void> Keyring::rotate_master(MasterKey new_master) {
    // Wrap everything under the new master first; swap only when all of it succeeded.
    std::vector<ScopeKeyRecord> rewrapped = records_;
    Keyring next(std::move(new_master));
    for (auto& r : rewrapped) {
        for (auto& v : r.versions) {
            if (v.state == KeyState::destroyed) continue;
            auto it = keys_.find({r.key_id, v.version});
            VMX_ASSERT(it != keys_.end());
            auto wrapped = next.wrap(r.key_id, v.version, it->second->view());
            if (!wrapped) return fail(wrapped.error());
            v.wrapped = std::move(*wrapped);
        }
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
