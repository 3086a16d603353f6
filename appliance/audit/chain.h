// The audit log's keys, identities and head record, shared by its writer (audit_log.cc) and its
// verifier (audit_verify.cc); tests use them to play the attacker on the raw database. Pure
// helpers over a caller's transaction; the thread rules are the caller's (audit_log.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "appliance/audit/audit_log.h"
#include "store/record_key.h"

namespace vmx {

inline constexpr std::size_t audit_head_bytes = 1 + 8 + 8 + audit_hash_bytes;
inline constexpr std::uint64_t audit_entries_owner = 0;
inline constexpr std::uint64_t audit_head_owner = 1;

struct AuditHead {
    std::uint64_t sequence = 0;  // the last entry's; 0 for the genesis head of an empty log
    std::int64_t time_unix = 0;  // the last entry's
    AuditHash hash{};            // the last entry's hash_n; all zero for the genesis head
};

inline store::RecordKey audit_entry_record(std::uint64_t sequence) noexcept {
    return {audit_entries_owner, store::record_of(sequence, 0)};
}
inline store::RecordKeyBytes audit_entry_key(std::uint64_t sequence) noexcept {
    return store::encode_record_key(audit_entry_record(sequence));
}
inline store::RecordKeyBytes audit_head_key() noexcept { return store::encode_record_key({audit_head_owner, 0}); }
inline crypto::RecordIdentity audit_entry_identity(std::uint64_t sequence) noexcept {
    return store::identity_of(crypto::StoreKind::audit, 0, audit_entry_record(sequence));
}
inline crypto::RecordIdentity audit_head_identity() noexcept {
    return store::identity_of(crypto::StoreKind::audit, 0, {audit_head_owner, 0});
}

enum class AuditKeyKind : std::uint8_t { entry, head, unknown };
struct AuditKey {
    AuditKeyKind kind = AuditKeyKind::unknown;
    std::uint64_t sequence = 0;  // for an entry
};
AuditKey classify_audit_key(std::span<const std::uint8_t> key) noexcept;

// The head under `txn`; nullopt when absent; a crypto error when it does not open, corrupt when
// it opens but is malformed.
template <class Txn>
Result<std::optional<AuditHead>> read_audit_head(Txn& txn, const crypto::KeySet& keys, store::Dbi dbi);

Result<AuditHead> open_audit_head(const crypto::KeySet& keys, std::span<const std::uint8_t> sealed);

// The entry stored under `sequence`: a crypto error when it does not open for that sequence,
// corrupt when it is malformed. The sequence it records is the caller's to compare.
Result<AuditEntry> open_audit_entry(const crypto::KeySet& keys, std::uint64_t sequence,
                                    std::span<const std::uint8_t> sealed);

}  // namespace vmx
