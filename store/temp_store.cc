// Temporary records with an expiry (see temp_store.h for the layout).
#include "store/temp_store.h"

#include <algorithm>
#include <array>
#include <span>
#include <string_view>

#include "store/codec.h"
#include "store/errc.h"
#include "store/record_key.h"

namespace vmx::store {
namespace {

constexpr std::string_view next_id_key = "next_record_id";
constexpr std::size_t temp_key_bytes = record_key_bytes + 8;
constexpr std::size_t expiry_key_bytes = 8 + record_key_bytes;

using TempKey = std::array<std::uint8_t, temp_key_bytes>;
using ExpiryKey = std::array<std::uint8_t, expiry_key_bytes>;

Bytes as_bytes(std::string_view s) noexcept { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

void put_le(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_le(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}
void put_be(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}
std::uint64_t get_be(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return v;
}

RecordKey record_key(std::uint64_t owner, std::uint64_t id) noexcept { return {owner, record_of(id, 0)}; }

TempKey temp_key(const RecordKeyBytes& rk, std::uint64_t expiry) noexcept {
    TempKey k{};
    std::copy(rk.begin(), rk.end(), k.begin());
    put_be(k.data() + record_key_bytes, expiry);
    return k;
}

ExpiryKey expiry_key(const RecordKeyBytes& rk, std::uint64_t expiry) noexcept {
    ExpiryKey k{};
    put_be(k.data(), expiry);
    std::copy(rk.begin(), rk.end(), k.begin() + 8);
    return k;
}

WriteOp op(WriteOpKind kind, Dbi dbi, Bytes key, std::vector<std::uint8_t> value = {}) {
    WriteOp o;
    o.kind = kind;
    o.dbi = dbi;
    o.key.assign(key.begin(), key.end());
    o.value = std::move(value);
    return o;
}

// A stored record: its whole key, the record key at its front (the kind in its part bits), its expiry.
struct Found {
    TempKey key{};
    RecordKey record;
    std::uint64_t expiry = 0;
};

// The record a stored key names; corrupt for a key of the wrong length.
Result<Found> found_of(std::span<const std::uint8_t> stored) {
    if (stored.size() != temp_key_bytes) return fail(StoreErrc::corrupt);
    Found out;
    std::copy(stored.begin(), stored.end(), out.key.begin());
    out.record = *decode_record_key(stored);
    out.expiry = get_be(out.key.data() + record_key_bytes);
    return out;
}

// The stored record (owner, id) of whatever kind: the first key at or after (owner, id, kind 0)
// holds it when it is there, since an id has one kind; nullopt when absent.
template <class Txn>
Result<std::optional<Found>> find(Txn& txn, Dbi records, std::uint64_t owner, std::uint64_t id) {
    const auto rk = encode_record_key(record_key(owner, id));
    auto cursor = Cursor::open(txn, records);
    if (!cursor) return fail(cursor.error());
    auto e = cursor->seek(rk);
    if (!e) return fail(e.error());
    std::optional<Found> out;
    if (!*e) return out;
    const auto k = decode_record_key((*e)->key);
    if (!k || k->owner != owner || object_of(k->record) != id) return out;
    auto found = found_of((*e)->key);
    if (!found) return fail(found.error());
    out = *found;
    return out;
}

Result<void> apply_ops(WriteTxn& txn, const std::vector<WriteOp>& ops) {
    for (const WriteOp& o : ops) {
        if (auto r = txn.put(o.dbi, o.key, o.value); !r) return r;
    }
    return {};
}

}  // namespace

Result<TempStore> TempStore::open(Env& env, std::uint32_t segment, const TempOptions& options) {
    auto records = env.open_dbi("temp");
    if (!records) return fail(records.error());
    auto expiry = env.open_dbi("temp_expiry");
    if (!expiry) return fail(expiry.error());
    auto counters = env.open_dbi("temp_counters");
    if (!counters) return fail(counters.error());
    TempStore store(segment, options, *records, *expiry, *counters);
    auto txn = ReadTxn::begin(env);
    if (!txn) return fail(txn.error());
    if (auto v = txn->get(*counters, as_bytes(next_id_key))) {
        if (v->size() != 8) return fail(StoreErrc::corrupt);
        store.next_id_ = std::max<std::uint64_t>(1, get_le(v->data()));
    } else if (v.error() != StoreErrc::not_found) {
        return fail(v.error());
    }
    return store;
}

Result<PreparedTempPut> TempStore::prepare_put(const crypto::KeySet& keys, const crypto::Scope& scope,
                                               std::uint64_t owner, Bytes data, std::int64_t now_unix,
                                               std::optional<std::int64_t> expires_unix, std::uint8_t kind) {
    const std::int64_t expires = expires_unix.value_or(now_unix + options_.ttl_s);
    if (data.size() > options_.value_bytes_max || expires < 0 || kind >= temp_kinds) {
        return fail(StoreErrc::invalid_request);
    }
    const auto expiry = static_cast<std::uint64_t>(expires);

    PreparedTempPut out;
    out.ref = TempRecordRef{owner, next_id_, expires, kind};
    const RecordKey key{owner, record_of(out.ref.id, kind)};
    std::vector<std::uint8_t> plain(8 + data.size());
    put_le(plain.data(), expiry);
    std::copy(data.begin(), data.end(), plain.begin() + 8);
    auto sealed = seal_value(keys, scope, identity_of(crypto::StoreKind::temp, segment_, key), plain,
                             Compress::if_smaller);
    if (!sealed) return fail(sealed.error());
    ++next_id_;  // never handed out again, even if this write fails
    std::vector<std::uint8_t> counter(8);
    put_le(counter.data(), next_id_);

    const auto rk = encode_record_key(key);
    out.ops.push_back(op(WriteOpKind::put, records_, temp_key(rk, expiry), std::move(*sealed)));
    out.ops.push_back(op(WriteOpKind::put, expiry_, expiry_key(rk, expiry)));
    out.ops.push_back(op(WriteOpKind::put, counters_, as_bytes(next_id_key), std::move(counter)));
    return out;
}

Result<TempRecordRef> TempStore::put(WriteTxn& txn, const crypto::KeySet& keys, const crypto::Scope& scope,
                                     std::uint64_t owner, Bytes data, std::int64_t now_unix,
                                     std::optional<std::int64_t> expires_unix, std::uint8_t kind) {
    auto prepared = prepare_put(keys, scope, owner, data, now_unix, expires_unix, kind);
    if (!prepared) return fail(prepared.error());
    if (auto r = apply_ops(txn, prepared->ops); !r) return fail(r.error());
    return prepared->ref;
}

template <class Txn>
Result<std::vector<std::uint8_t>> TempStore::get(Txn& txn, const crypto::KeySet& keys, std::uint64_t owner,
                                                 std::uint64_t id, std::int64_t now_unix) const {
    auto found = find(txn, records_, owner, id);
    if (!found) return fail(found.error());
    if (!*found) return fail(StoreErrc::not_found);
    const Found& record = **found;
    // Expired is invisible, whether or not the sweep has run yet.
    if (now_unix >= 0 && static_cast<std::uint64_t>(now_unix) >= record.expiry) return fail(StoreErrc::not_found);
    auto sealed = txn.get(records_, record.key);
    if (!sealed) return fail(sealed.error());
    auto plain = open_value(keys, identity_of(crypto::StoreKind::temp, segment_, record.record), *sealed);
    if (!plain) return fail(plain.error());
    if (plain->size() < 8 || get_le(plain->data()) != record.expiry) return fail(StoreErrc::corrupt);
    plain->erase(plain->begin(), plain->begin() + 8);
    return std::move(*plain);
}

template Result<std::vector<std::uint8_t>> TempStore::get(ReadTxn&, const crypto::KeySet&, std::uint64_t,
                                                          std::uint64_t, std::int64_t) const;
template Result<std::vector<std::uint8_t>> TempStore::get(WriteTxn&, const crypto::KeySet&, std::uint64_t,
                                                          std::uint64_t, std::int64_t) const;

Result<bool> TempStore::erase(WriteTxn& txn, std::uint64_t owner, std::uint64_t id) {
    auto found = find(txn, records_, owner, id);
    if (!found) return fail(found.error());
    if (!*found) return false;
    const Found& record = **found;
    if (auto r = txn.erase(records_, record.key); !r) return fail(r.error());
    if (auto r = txn.erase(expiry_, expiry_key(encode_record_key(record.record), record.expiry)); !r) {
        return fail(r.error());
    }
    return true;
}

template <class Txn>
Result<std::vector<TempRecordRef>> TempStore::list(Txn& txn, std::uint64_t owner, std::uint64_t from_id,
                                                   std::size_t max_records) const {
    std::vector<TempRecordRef> out;
    auto cursor = Cursor::open(txn, records_);
    if (!cursor) return fail(cursor.error());
    const auto from = encode_record_key(record_key(owner, from_id));
    for (auto e = cursor->seek(from); out.size() < max_records; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e) break;
        const auto k = decode_record_key((*e)->key);
        if (!k || k->owner != owner) break;  // past the owner's records
        auto found = found_of((*e)->key);
        if (!found) return fail(found.error());
        out.push_back(TempRecordRef{owner, object_of(k->record), static_cast<std::int64_t>(found->expiry),
                                    part_of(k->record)});
    }
    return out;
}

template Result<std::vector<TempRecordRef>> TempStore::list(ReadTxn&, std::uint64_t, std::uint64_t,
                                                            std::size_t) const;
template Result<std::vector<TempRecordRef>> TempStore::list(WriteTxn&, std::uint64_t, std::uint64_t,
                                                            std::size_t) const;

Result<std::size_t> TempStore::sweep(WriteTxn& txn, std::int64_t now_unix, std::size_t max_records) {
    if (now_unix < 0) return std::size_t{0};
    const auto now = static_cast<std::uint64_t>(now_unix);
    std::vector<ExpiryKey> expired;
    {
        auto cursor = Cursor::open(txn, expiry_);
        if (!cursor) return fail(cursor.error());
        for (auto e = cursor->first(); expired.size() < max_records; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e) break;
            if ((*e)->key.size() != expiry_key_bytes) return fail(StoreErrc::corrupt);
            if (get_be((*e)->key.data()) > now) break;  // time order: nothing later has expired
            ExpiryKey k{};
            std::copy((*e)->key.begin(), (*e)->key.end(), k.begin());
            expired.push_back(k);
        }
    }
    for (const ExpiryKey& k : expired) {
        RecordKeyBytes rk{};
        std::copy(k.begin() + 8, k.end(), rk.begin());
        if (auto r = txn.erase(records_, temp_key(rk, get_be(k.data()))); !r) return fail(r.error());
        if (auto r = txn.erase(expiry_, k); !r) return fail(r.error());
    }
    return expired.size();
}

}  // namespace vmx::store
