// Queue entries, recovery and delivery markers (see queue.h for the layout and the hand-off).
#include "store/queue.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "crypto/errc.h"
#include "store/codec.h"
#include "store/errc.h"
#include "store/layout.h"
#include "store/record_key.h"

namespace vmx::store {
namespace {

constexpr std::string_view next_id_key = "next_entry_id";

Bytes as_bytes(std::string_view s) noexcept { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::vector<std::uint8_t> to_vector(Bytes b) { return {b.begin(), b.end()}; }

void put_le(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint64_t get_le(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}
void put_be(std::uint8_t* p, std::uint64_t v, int n) noexcept {
    for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
}
std::uint64_t get_be(const std::uint8_t* p, int n) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}

crypto::StoreKind store_kind(QueueKind kind) noexcept {
    return kind == QueueKind::smtp_in ? crypto::StoreKind::smtp_in : crypto::StoreKind::smtp_out;
}

RecordKey entry_key(std::uint64_t id, std::uint8_t part) noexcept { return {queue_owner, record_of(id, part)}; }

std::vector<std::uint8_t> key_vector(std::uint64_t id, std::uint8_t part) {
    const auto k = encode_record_key(entry_key(id, part));
    return {k.begin(), k.end()};
}

WriteOp put_op(Dbi dbi, std::vector<std::uint8_t> key, std::vector<std::uint8_t> value) {
    WriteOp op;
    op.kind = WriteOpKind::put;
    op.dbi = dbi;
    op.key = std::move(key);
    op.value = std::move(value);
    return op;
}

Result<void> apply_ops(WriteTxn& txn, const std::vector<WriteOp>& ops) {
    for (const WriteOp& op : ops) {
        if (op.kind == WriteOpKind::put) {
            if (auto r = txn.put(op.dbi, op.key, op.value); !r) return r;
        } else if (auto r = txn.erase(op.dbi, op.key); !r) {
            return fail(r.error());
        }
    }
    return {};
}

// ---- delivery marker encoding ----

using MarkerKey = std::array<std::uint8_t, delivery_marker_key_bytes>;
static_assert(segments_max == 1u << 12, "a marker keeps the node above the segment's 12 bits");

MarkerKey marker_key(const DeliveryMarker& m) noexcept {
    MarkerKey k{};
    k[0] = static_cast<std::uint8_t>(m.queue);
    VMX_ASSERT(m.segment < segments_max && m.node < (1u << 20));
    put_be(&k[1], m.segment | m.node << 12, 4);
    put_be(&k[5], m.entry_id, 8);
    put_be(&k[13], m.recipient, 2);
    return k;
}

std::optional<DeliveryMarker> decode_marker_key(Bytes k) noexcept {
    if (k.size() != delivery_marker_key_bytes) return std::nullopt;
    DeliveryMarker m;
    m.queue = static_cast<QueueKind>(k[0]);
    const auto where = static_cast<std::uint32_t>(get_be(&k[1], 4));
    m.segment = where & (segments_max - 1);
    m.node = where >> 12;
    m.entry_id = get_be(&k[5], 8);
    m.recipient = static_cast<std::uint16_t>(get_be(&k[13], 2));
    return m;
}

std::vector<std::uint8_t> marker_value(std::int64_t now_unix, std::uint64_t mailbox_message_id) {
    std::vector<std::uint8_t> v(16);
    put_le(v.data(), static_cast<std::uint64_t>(now_unix));
    put_le(v.data() + 8, mailbox_message_id);
    return v;
}

}  // namespace

// ---- Queue ----

Result<Queue> Queue::open(Env& env, QueueKind kind, std::uint32_t segment, const QueueLimits& limits) {
    auto records = env.open_dbi("queue");
    if (!records) return fail(records.error());
    auto counters = env.open_dbi("queue_counters");
    if (!counters) return fail(counters.error());
    Queue q(kind, segment, limits, *records, *counters);

    auto txn = ReadTxn::begin(env);
    if (!txn) return fail(txn.error());
    if (auto v = txn->get(*counters, as_bytes(next_id_key))) {
        if (v->size() != 8) return fail(StoreErrc::corrupt);
        q.next_id_ = std::max<std::uint64_t>(q.next_id_, get_le(v->data()));
    } else if (v.error() != StoreErrc::not_found) {
        return fail(v.error());
    }
    // The counter is written with every enqueue; the last key is a second witness.
    auto cursor = Cursor::open(*txn, *records);
    if (!cursor) return fail(cursor.error());
    auto last = cursor->last();
    if (!last) return fail(last.error());
    if (*last) {
        auto k = decode_record_key((*last)->key);
        if (!k || k->owner != queue_owner) return fail(StoreErrc::corrupt);
        q.next_id_ = std::max(q.next_id_, object_of(k->record) + 1);
    }
    return q;
}

Result<PreparedEnqueue> Queue::prepare_enqueue(const crypto::KeySet& keys, const Envelope& envelope, Bytes body) {
    if (body.size() > limits_.body_bytes_max) return fail(StoreErrc::invalid_request);
    auto encoded = encode_envelope(envelope);
    if (!encoded) return fail(encoded.error());
    PreparedEnqueue out;
    out.entry_id = next_id_;
    const auto kind = store_kind(kind_);
    // Not compressed: a queue record lives until its delivery, milliseconds on a healthy box, and
    // deflating it cost the shard more CPU than the pages it saved the lane (the mailbox copy is
    // compressed).
    auto sealed_body = seal_value(keys, queue_scope, identity_of(kind, segment_, entry_key(out.entry_id, queue_part_body)),
                                  body, Compress::never);
    if (!sealed_body) return fail(sealed_body.error());
    auto sealed_env = seal_value(keys, queue_scope,
                                 identity_of(kind, segment_, entry_key(out.entry_id, queue_part_envelope)), *encoded,
                                 Compress::never);
    if (!sealed_env) return fail(sealed_env.error());
    ++next_id_;  // taken only once the request can be built; never handed out again
    std::vector<std::uint8_t> counter(8);
    put_le(counter.data(), next_id_);
    out.ops.push_back(put_op(records_, key_vector(out.entry_id, queue_part_body), std::move(*sealed_body)));
    out.ops.push_back(put_op(records_, key_vector(out.entry_id, queue_part_envelope), std::move(*sealed_env)));
    out.ops.push_back(put_op(counters_, to_vector(as_bytes(next_id_key)), std::move(counter)));
    return out;
}

Result<std::vector<WriteOp>> Queue::prepare_update(const crypto::KeySet& keys, std::uint64_t id,
                                                   const Envelope& envelope) const {
    auto encoded = encode_envelope(envelope);
    if (!encoded) return fail(encoded.error());
    auto sealed = seal_value(keys, queue_scope,
                             identity_of(store_kind(kind_), segment_, entry_key(id, queue_part_envelope)), *encoded,
                             Compress::never);
    if (!sealed) return fail(sealed.error());
    std::vector<WriteOp> ops;
    ops.push_back(put_op(records_, key_vector(id, queue_part_envelope), std::move(*sealed)));
    return ops;
}

std::vector<WriteOp> Queue::prepare_remove(std::uint64_t id) const {
    std::vector<WriteOp> ops(2);
    for (std::uint8_t part : {queue_part_body, queue_part_envelope}) {
        WriteOp& op = ops[part];
        op.kind = WriteOpKind::erase;
        op.dbi = records_;
        op.key = key_vector(id, part);
    }
    return ops;
}

Result<std::uint64_t> Queue::enqueue(WriteTxn& txn, const crypto::KeySet& keys, const Envelope& envelope, Bytes body) {
    auto prepared = prepare_enqueue(keys, envelope, body);
    if (!prepared) return fail(prepared.error());
    if (auto r = apply_ops(txn, prepared->ops); !r) return fail(r.error());
    return prepared->entry_id;
}

Result<void> Queue::update(WriteTxn& txn, const crypto::KeySet& keys, std::uint64_t id, const Envelope& envelope) {
    // Only an existing entry may be updated: a late update must not resurrect a removed one.
    if (auto existing = txn.get(records_, key_vector(id, queue_part_envelope)); !existing) {
        return fail(existing.error());
    }
    auto ops = prepare_update(keys, id, envelope);
    if (!ops) return fail(ops.error());
    return apply_ops(txn, *ops);
}

Result<void> Queue::remove(WriteTxn& txn, std::uint64_t id) { return apply_ops(txn, prepare_remove(id)); }

template <class Txn>
Result<std::vector<std::uint64_t>> Queue::list(Txn& txn, std::uint64_t after_id, std::size_t max) const {
    std::vector<std::uint64_t> ids;
    max = std::min(max, limits_.list_max);
    if (after_id >= object_of(~std::uint64_t{0})) return ids;
    auto cursor = Cursor::open(txn, records_);
    if (!cursor) return fail(cursor.error());
    const auto start = encode_record_key(entry_key(after_id + 1, 0));
    for (auto e = cursor->seek(start); ids.size() < max; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e) break;
        auto k = decode_record_key((*e)->key);
        if (!k || (*e)->key.size() != record_key_bytes || k->owner != queue_owner) return fail(StoreErrc::corrupt);
        // Every entry has an envelope; the body part only repeats the id.
        if (part_of(k->record) == queue_part_envelope) ids.push_back(object_of(k->record));
    }
    return ids;
}

template <class Txn>
Result<Envelope> Queue::load_envelope(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const {
    auto sealed = txn.get(records_, key_vector(id, queue_part_envelope));
    if (!sealed) return fail(sealed.error());
    auto plain = open_value(keys, identity_of(store_kind(kind_), segment_, entry_key(id, queue_part_envelope)), *sealed);
    if (!plain) return fail(plain.error());
    return decode_envelope(*plain);
}

template <class Txn>
Result<std::vector<std::uint8_t>> Queue::load_body(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const {
    auto sealed = txn.get(records_, key_vector(id, queue_part_body));
    if (!sealed) return fail(sealed.error());
    return open_value(keys, identity_of(store_kind(kind_), segment_, entry_key(id, queue_part_body)), *sealed);
}

template <class Txn>
Result<bool> Queue::contains(Txn& txn, std::uint64_t id) const {
    auto sealed = txn.get(records_, key_vector(id, queue_part_envelope));
    if (sealed) return true;
    if (sealed.error() == StoreErrc::not_found) return false;
    return fail(sealed.error());
}

template Result<bool> Queue::contains(ReadTxn&, std::uint64_t) const;
template Result<bool> Queue::contains(WriteTxn&, std::uint64_t) const;
template Result<std::vector<std::uint64_t>> Queue::list(ReadTxn&, std::uint64_t, std::size_t) const;
template Result<std::vector<std::uint64_t>> Queue::list(WriteTxn&, std::uint64_t, std::size_t) const;
template Result<Envelope> Queue::load_envelope(ReadTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<Envelope> Queue::load_envelope(WriteTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<std::vector<std::uint8_t>> Queue::load_body(ReadTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<std::vector<std::uint8_t>> Queue::load_body(WriteTxn&, const crypto::KeySet&, std::uint64_t) const;

// ---- recovery ----

Result<RecoveryBatch> recover(const Queue& queue, ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t after_id,
                              std::size_t max) {
    RecoveryBatch batch;
    batch.last_id = after_id;
    auto ids = queue.list(txn, after_id, max);
    if (!ids) return fail(ids.error());
    for (std::uint64_t id : *ids) {
        auto envelope = queue.load_envelope(txn, keys, id);
        batch.last_id = id;
        if (!envelope) {
            // A record that does not open (crypto error) or decode (corrupt) is reported and
            // skipped; any other failure (LMDB, I/O) ends the scan.
            const std::error_code e = envelope.error();
            if (e.category() != crypto::crypto_category() && e != StoreErrc::corrupt) return fail(e);
            batch.failed.emplace_back(id, envelope.error());
            continue;
        }
        if (!envelope->done()) batch.entries.push_back(QueuedEntry{id, std::move(*envelope)});
    }
    batch.complete = ids->size() < std::min(max, queue.limits().list_max);
    return batch;
}

// ---- delivery markers ----

Result<DeliveryMarkers> DeliveryMarkers::open(Env& mail_env) {
    auto dbi = mail_env.open_dbi("delivered");
    if (!dbi) return fail(dbi.error());
    return DeliveryMarkers{*dbi};
}

template <class Txn>
Result<bool> already_delivered(Txn& mail_txn, const DeliveryMarkers& markers, const DeliveryMarker& marker) {
    const auto key = marker_key(marker);
    auto v = mail_txn.get(markers.dbi, key);
    if (v) return true;
    if (v.error() == StoreErrc::not_found) return false;
    return fail(v.error());
}
template Result<bool> already_delivered(ReadTxn&, const DeliveryMarkers&, const DeliveryMarker&);
template Result<bool> already_delivered(WriteTxn&, const DeliveryMarkers&, const DeliveryMarker&);

Result<void> mark_delivered(WriteTxn& mail_txn, const DeliveryMarkers& markers, const DeliveryMarker& marker,
                            std::int64_t now_unix, std::uint64_t mailbox_message_id) {
    const auto key = marker_key(marker);
    return mail_txn.put(markers.dbi, key, marker_value(now_unix, mailbox_message_id));
}

WriteOp marker_put_op(const DeliveryMarkers& markers, const DeliveryMarker& marker, std::int64_t now_unix,
                      std::uint64_t mailbox_message_id) {
    const auto key = marker_key(marker);
    return put_op(markers.dbi, to_vector(key), marker_value(now_unix, mailbox_message_id));
}

template <class Txn>
Result<MarkerPage> list_markers(Txn& mail_txn, const DeliveryMarkers& markers, std::optional<DeliveryMarker> from,
                                std::size_t max) {
    MarkerPage page;
    auto cursor = Cursor::open(mail_txn, markers.dbi);
    if (!cursor) return fail(cursor.error());
    const MarkerKey start = from ? marker_key(*from) : MarkerKey{};
    for (auto e = cursor->seek(start);; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e) break;  // the end: resume stays empty
        auto m = decode_marker_key((*e)->key);
        if (!m) return fail(StoreErrc::corrupt);
        if (page.markers.size() == max) {
            page.resume = *m;
            break;
        }
        page.markers.push_back(*m);
    }
    return page;
}
template Result<MarkerPage> list_markers(ReadTxn&, const DeliveryMarkers&, std::optional<DeliveryMarker>, std::size_t);
template Result<MarkerPage> list_markers(WriteTxn&, const DeliveryMarkers&, std::optional<DeliveryMarker>, std::size_t);

WriteOp marker_erase_op(const DeliveryMarkers& markers, const DeliveryMarker& marker) {
    WriteOp op;
    op.kind = WriteOpKind::erase;
    op.dbi = markers.dbi;
    op.key = to_vector(marker_key(marker));
    return op;
}

Result<std::size_t> remove_markers(WriteTxn& mail_txn, const DeliveryMarkers& markers, QueueKind queue,
                                   std::uint32_t segment, std::uint64_t entry_id, std::uint32_t node) {
    // Collect first, then erase: the cursor is not walked across its own deletions. An entry has
    // at most envelope_recipients_max markers.
    std::vector<MarkerKey> found;
    {
        auto cursor = Cursor::open(mail_txn, markers.dbi);
        if (!cursor) return fail(cursor.error());
        const auto start = marker_key(DeliveryMarker{queue, segment, entry_id, 0, node});
        for (auto e = cursor->seek(start); found.size() <= envelope_recipients_max; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e) break;
            const Bytes k = (*e)->key;
            if (k.size() != delivery_marker_key_bytes || !std::equal(start.begin(), start.begin() + 13, k.begin())) break;
            MarkerKey copy{};
            std::copy(k.begin(), k.end(), copy.begin());
            found.push_back(copy);
        }
    }
    for (const MarkerKey& k : found) {
        if (auto r = mail_txn.erase(markers.dbi, k); !r) return fail(r.error());
    }
    return found.size();
}

Result<MarkerSweep> expire_markers(WriteTxn& mail_txn, const DeliveryMarkers& markers, std::int64_t cutoff_unix,
                                   std::optional<DeliveryMarker> from, std::size_t scanned_max) {
    MarkerSweep out;
    std::vector<MarkerKey> expired;
    {
        auto cursor = Cursor::open(mail_txn, markers.dbi);
        if (!cursor) return fail(cursor.error());
        const MarkerKey start = from ? marker_key(*from) : MarkerKey{};
        std::size_t scanned = 0;
        for (auto e = cursor->seek(start);; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e) break;  // the end: out.resume stays empty
            auto m = decode_marker_key((*e)->key);
            if (!m || (*e)->value.size() != 16) return fail(StoreErrc::corrupt);
            if (scanned == scanned_max) {
                out.resume = *m;
                break;
            }
            ++scanned;
            if (static_cast<std::int64_t>(get_le((*e)->value.data())) < cutoff_unix) {
                MarkerKey copy{};
                std::copy((*e)->key.begin(), (*e)->key.end(), copy.begin());
                expired.push_back(copy);
            }
        }
    }
    for (const MarkerKey& k : expired) {
        if (auto r = mail_txn.erase(markers.dbi, k); !r) return fail(r.error());
    }
    out.removed = expired.size();
    return out;
}

}  // namespace vmx::store
