// The audit log's keys and head record (see audit_chain.h).
#include "appliance/audit/chain.h"

#include <algorithm>

#include "store/codec.h"
#include "store/errc.h"

namespace vmx {
namespace {

std::uint64_t get_le(std::span<const std::uint8_t> p) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{p[i]} << (8 * i);
    return v;
}

}  // namespace

AuditKey classify_audit_key(std::span<const std::uint8_t> key) noexcept {
    if (key.size() != store::record_key_bytes) return {};
    const auto k = store::decode_record_key(key);
    if (!k) return {};
    if (k->owner == audit_head_owner && k->record == 0) return {AuditKeyKind::head, 0};
    if (k->owner != audit_entries_owner || store::part_of(k->record) != 0) return {};
    const std::uint64_t sequence = store::object_of(k->record);
    if (sequence == 0) return {};
    return {AuditKeyKind::entry, sequence};
}

Result<AuditHead> open_audit_head(const crypto::KeySet& keys, std::span<const std::uint8_t> sealed) {
    auto plain = store::open_value(keys, audit_head_identity(), sealed);
    if (!plain) return fail(plain.error());
    const std::span<const std::uint8_t> p = *plain;
    if (p.size() != audit_head_bytes || p[0] != audit_entry_format_version) return fail(store::StoreErrc::corrupt);
    AuditHead head;
    head.sequence = get_le(p.subspan(1, 8));
    head.time_unix = static_cast<std::int64_t>(get_le(p.subspan(9, 8)));
    std::copy_n(p.begin() + 17, audit_hash_bytes, head.hash.begin());
    if (head.sequence > audit_sequence_max) return fail(store::StoreErrc::corrupt);
    return head;
}

template <class Txn>
Result<std::optional<AuditHead>> read_audit_head(Txn& txn, const crypto::KeySet& keys, store::Dbi dbi) {
    const auto key = audit_head_key();
    auto sealed = txn.get(dbi, key);
    if (!sealed) {
        if (sealed.error() == store::StoreErrc::not_found) return std::optional<AuditHead>();
        return fail(sealed.error());
    }
    auto head = open_audit_head(keys, *sealed);
    if (!head) return fail(head.error());
    return std::optional<AuditHead>(*head);
}

template Result<std::optional<AuditHead>> read_audit_head(store::ReadTxn&, const crypto::KeySet&, store::Dbi);
template Result<std::optional<AuditHead>> read_audit_head(store::WriteTxn&, const crypto::KeySet&, store::Dbi);

Result<AuditEntry> open_audit_entry(const crypto::KeySet& keys, std::uint64_t sequence,
                                    std::span<const std::uint8_t> sealed) {
    auto plain = store::open_value(keys, audit_entry_identity(sequence), sealed);
    if (!plain) return fail(plain.error());
    return decode_audit_entry(*plain);
}

}  // namespace vmx
