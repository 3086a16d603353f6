#include "store/key_store.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"
#include "store/errc.h"

namespace vmx::store {
namespace {

constexpr std::string_view master_check_key = "master-check";
constexpr std::string_view generation_key = "generation";


Bytes as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::array<std::uint8_t, 8> id_key(std::uint64_t id) {
    std::array<std::uint8_t, 8> out{};
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
    return out;
}

// Every write of key records counts up the generation (u64 LE in meta), in the same transaction:
// the nodes of a shared store poll it to learn that another node changed the keys.
Result<std::uint64_t> bump_generation(WriteTxn& txn, Dbi meta) {
    std::uint64_t generation = 0;
    auto got = txn.get(meta, as_bytes(generation_key));
    if (got && got->size() == 8) std::memcpy(&generation, got->data(), 8);
    else if (!got && got.error() != StoreErrc::not_found) return fail(got.error());
    ++generation;
    std::array<std::uint8_t, 8> value{};
    std::memcpy(value.data(), &generation, 8);
    if (auto r = txn.put(meta, as_bytes(generation_key), value); !r) return fail(r.error());
    return generation;
}

}  // namespace

Result<KeyStore> KeyStore::open(Env& keys_env) {
    auto records = keys_env.open_dbi("scope-keys");
    if (!records) return fail(records.error());
    auto meta = keys_env.open_dbi("meta");
    if (!meta) return fail(meta.error());
    return KeyStore(keys_env, *records, *meta);
}

Result<std::vector<crypto::ScopeKeyRecord>> KeyStore::stored_records() const {
    std::vector<crypto::ScopeKeyRecord> records;
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto cursor = Cursor::open(*txn, records_);
    if (!cursor) return fail(cursor.error());
    auto entry = cursor->first();
    for (; entry && *entry; entry = cursor->next()) {
        auto record = crypto::decode_key_record((*entry)->value);
        if (!record) return fail(StoreErrc::corrupt);
        records.push_back(std::move(*record));
    }
    if (!entry) return fail(entry.error());
    return records;
}

Result<void> KeyStore::put_records(std::span<const crypto::ScopeKeyRecord> records) {
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    for (const crypto::ScopeKeyRecord& record : records)
        if (auto r = txn->put(records_, id_key(record.key_id), crypto::encode_key_record(record)); !r) return fail(r.error());
    return commit_counted(*txn);
}

Result<crypto::Keyring> KeyStore::load(crypto::MasterKey master) {
    bool have_check = false;
    {
        auto txn = ReadTxn::begin(*env_);
        if (!txn) return fail(txn.error());
        if (auto check = txn->get(meta_, as_bytes(master_check_key)); check) {
            have_check = true;
            if (check->size() != master.check.size() ||
                !std::equal(check->begin(), check->end(), master.check.begin()))
                return fail(crypto::CryptoErrc::authentication_failed);
        } else if (check.error() != StoreErrc::not_found) {
            return fail(check.error());
        }
    }
    auto records = stored_records();
    if (!records) return fail(records.error());
    auto ring = crypto::Keyring::load(std::move(master), std::move(*records));
    if (!ring) return fail(ring.error());
    // A reader (read-only, beside the daemon) never writes: records load() settled (an account key
    // whose wrapping key is gone) stay marked changed for the writer's next save.
    if (!have_check) {
        if (auto r = save(*ring, true); !r) return fail(r.error());
        ring->saved();
    }
    return ring;
}

Result<void> KeyStore::save(const crypto::Keyring& ring, bool everything) {
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(meta_, as_bytes(master_check_key), ring.master_check()); !r) return fail(r.error());
    const auto& changed = ring.changed();
    for (const crypto::ScopeKeyRecord& record : ring.records()) {
        if (!everything && std::find(changed.begin(), changed.end(), record.key_id) == changed.end()) continue;
        const auto key = id_key(record.key_id);
        // Nodes of a shared store number new keys from what they loaded: a key id that another
        // node took for another scope meanwhile is refused, never overwritten.
        if (auto stored = txn->get(records_, key); stored) {
            auto existing = crypto::decode_key_record(*stored);
            if (!existing) return fail(existing.error());
            if (existing->scope != record.scope) return fail(StoreErrc::conflict);
        } else if (stored.error() != StoreErrc::not_found) {
            return fail(stored.error());
        }
        if (auto r = txn->put(records_, key, crypto::encode_key_record(record)); !r) return fail(r.error());
    }
    return commit_counted(*txn);
}

Result<void> KeyStore::commit_counted(WriteTxn& txn) {
    auto generation = bump_generation(txn, meta_);
    if (!generation) return fail(generation.error());
    if (auto r = txn.commit(); !r) return r;
    written_generation_ = *generation;
    return {};
}

Result<std::uint64_t> KeyStore::generation() const {
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto got = txn->get(meta_, as_bytes(generation_key));
    if (!got) return got.error() == StoreErrc::not_found ? Result<std::uint64_t>(0) : fail(got.error());
    if (got->size() != 8) return fail(StoreErrc::corrupt);
    std::uint64_t generation = 0;
    std::memcpy(&generation, got->data(), 8);
    return generation;
}

namespace {

constexpr std::string_view held_prefix = "held-key:";
constexpr std::size_t held_key_bytes = 32;

std::string held_name(std::string_view name) { return std::string(held_prefix) + std::string(name); }

Result<crypto::SecretBytes> held_kek(const crypto::MasterKey& master, std::string_view name) {
    return crypto::hkdf_sha256(master.material.view(), {}, "vaultmx held-key wrap v1 " + std::string(name), 32);
}

Result<std::vector<std::uint8_t>> wrap_held(const crypto::MasterKey& master, std::string_view name,
                                            std::span<const std::uint8_t> key) {
    auto kek = held_kek(master, name);
    if (!kek) return fail(kek.error());
    std::vector<std::uint8_t> out(key.size() + crypto::key_wrap_overhead_bytes);
    if (auto r = crypto::key_wrap(std::span<const std::uint8_t, 32>(kek->view().data(), 32), key, out); !r) return fail(r.error());
    return out;
}

Result<crypto::SecretBytes> unwrap_held(const crypto::MasterKey& master, std::string_view name, Bytes wrapped) {
    if (wrapped.size() != held_key_bytes + crypto::key_wrap_overhead_bytes) return fail(StoreErrc::corrupt);
    auto kek = held_kek(master, name);
    if (!kek) return fail(kek.error());
    auto key = crypto::SecretBytes::zeroed(held_key_bytes);
    if (auto r = crypto::key_unwrap(std::span<const std::uint8_t, 32>(kek->view().data(), 32), wrapped, key.mutable_view()); !r)
        return fail(r.error());
    return key;
}

}  // namespace

Result<crypto::SecretBytes> KeyStore::read_held_key(const crypto::MasterKey& master, std::string_view name,
                                                    crypto::SecretBytes initial) const {
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto wrapped = txn->get(meta_, as_bytes(held_name(name)));
    if (!wrapped && wrapped.error() == StoreErrc::not_found) return initial;
    if (!wrapped) return fail(wrapped.error());
    return unwrap_held(master, name, *wrapped);
}

Result<crypto::SecretBytes> KeyStore::held_key(const crypto::MasterKey& master, std::string_view name,
                                               crypto::SecretBytes initial) {
    {
        auto txn = ReadTxn::begin(*env_);
        if (!txn) return fail(txn.error());
        auto wrapped = txn->get(meta_, as_bytes(held_name(name)));
        if (wrapped) return unwrap_held(master, name, *wrapped);
        if (wrapped.error() != StoreErrc::not_found) return fail(wrapped.error());
    }
    if (initial.size() != held_key_bytes) return fail(crypto::CryptoErrc::invalid_argument);
    auto wrapped = wrap_held(master, name, initial.view());
    if (!wrapped) return fail(wrapped.error());
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(meta_, as_bytes(held_name(name)), *wrapped); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return initial;
}

Result<void> KeyStore::save_master_rotation(const crypto::Keyring& ring, const crypto::MasterKey& from,
                                            const std::function<Result<void>(WriteTxn&)>& also) {
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(meta_, as_bytes(master_check_key), ring.master_check()); !r) return fail(r.error());
    for (const crypto::ScopeKeyRecord& record : ring.records())
        if (auto r = txn->put(records_, id_key(record.key_id), crypto::encode_key_record(record)); !r) return fail(r.error());
    // Every held key, collected first: puts must not move the cursor under us.
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> held;
    {
        auto cursor = Cursor::open(*txn, meta_);
        if (!cursor) return fail(cursor.error());
        auto entry = cursor->seek(as_bytes(std::string(held_prefix)));
        for (; entry && *entry; entry = cursor->next()) {
            const std::string stored(reinterpret_cast<const char*>((*entry)->key.data()), (*entry)->key.size());
            if (!stored.starts_with(held_prefix)) break;
            const std::string name = stored.substr(held_prefix.size());
            auto key = unwrap_held(from, name, (*entry)->value);
            if (!key) return fail(key.error());
            auto wrapped = wrap_held(ring.master(), name, key->view());
            if (!wrapped) return fail(wrapped.error());
            held.emplace_back(stored, std::move(*wrapped));
        }
        if (!entry) return fail(entry.error());
    }
    for (const auto& [stored, wrapped] : held)
        if (auto r = txn->put(meta_, as_bytes(stored), wrapped); !r) return fail(r.error());
    if (also) {
        if (auto r = also(*txn); !r) return fail(r.error());
    }
    return commit_counted(*txn);
}

// Steps live in the meta database as "step:NAME" -> "done".
Result<bool> KeyStore::step_done(std::string_view name) const {
    const std::string key = "step:" + std::string(name);
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto value = txn->get(meta_, as_bytes(key));
    if (value) return true;
    if (value.error() == StoreErrc::not_found) return false;
    return fail(value.error());
}

Result<void> KeyStore::mark_step_done(std::string_view name) {
    const std::string key = "step:" + std::string(name);
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(meta_, as_bytes(key), as_bytes("done")); !r) return fail(r.error());
    return txn->commit();
}

}  // namespace vmx::store
