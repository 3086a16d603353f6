#include "store/key_store.h"

#include <algorithm>
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

Result<crypto::Keyring> KeyStore::load(crypto::MasterKey master) {
    std::vector<crypto::ScopeKeyRecord> records;
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
        auto cursor = Cursor::open(txn->raw(), records_);
        if (!cursor) return fail(cursor.error());
        auto entry = cursor->first();
        for (; entry && *entry; entry = cursor->next()) {
            auto record = crypto::decode_key_record((*entry)->value);
            if (!record) return fail(StoreErrc::corrupt);
            records.push_back(std::move(*record));
        }
        if (!entry) return fail(entry.error());
    }
    auto ring = crypto::Keyring::load(std::move(master), std::move(records));
    if (!ring) return fail(ring.error());
    if (!have_check) {
        if (auto r = save(*ring); !r) return fail(r.error());
    }
    return ring;
}

Result<void> KeyStore::save(const crypto::Keyring& ring) {
    auto txn = WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(meta_, as_bytes(master_check_key), ring.master_check()); !r) return fail(r.error());
    for (const crypto::ScopeKeyRecord& record : ring.records()) {
        const auto key = id_key(record.key_id);
        if (auto r = txn->put(records_, key, crypto::encode_key_record(record)); !r) return fail(r.error());
    }
    return txn->commit();
}

}  // namespace vmx::store
