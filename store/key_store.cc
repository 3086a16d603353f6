#include "store/key_store.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "store/errc.h"

namespace vmx::store {
namespace {

constexpr std::string_view master_check_key = "master-check";

Bytes as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::array<std::uint8_t, 8> id_key(std::uint64_t id) {
    std::array<std::uint8_t, 8> out{};
    for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
    return out;
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
    auto cursor = Cursor::open(txn->raw(), records_);
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
    return txn->commit();
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
    if (!have_check || !ring->changed().empty()) {
        if (auto r = save(*ring, !have_check); !r) return fail(r.error());
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
        if (auto r = txn->put(records_, key, crypto::encode_key_record(record)); !r) return fail(r.error());
    }
    return txn->commit();
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
