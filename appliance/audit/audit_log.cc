// The audit log's storage: append, read and the head (see audit_log.h for the layout).
#include "appliance/audit/audit_log.h"

#include <algorithm>
#include <optional>

#include "appliance/audit/chain.h"
#include "store/codec.h"
#include "store/errc.h"

namespace vmx {
namespace {

using store::StoreErrc;

std::vector<std::uint8_t> encode_head(const AuditHead& head) {
    std::vector<std::uint8_t> out;
    out.reserve(audit_head_bytes);
    out.push_back(audit_entry_format_version);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(head.sequence >> (8 * i)));
    const auto time = static_cast<std::uint64_t>(head.time_unix);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(time >> (8 * i)));
    out.insert(out.end(), head.hash.begin(), head.hash.end());
    return out;
}

Result<void> put_head(store::WriteTxn& txn, const crypto::KeySet& keys, store::Dbi dbi, const AuditHead& head) {
    auto sealed = store::seal_value(keys, audit_scope, audit_head_identity(), encode_head(head), store::Compress::never);
    if (!sealed) return fail(sealed.error());
    return txn.put(dbi, audit_head_key(), *sealed);
}

// The entry the head names must be there and hash to the head's hash, and none may follow it: a
// new entry is never chained onto a truncated or rolled-back log (verify says what is wrong).
Result<void> check_tail(store::WriteTxn& txn, const crypto::KeySet& keys, store::Dbi dbi, const AuditHead& head) {
    if (auto past = txn.get(dbi, audit_entry_key(head.sequence + 1)); past) return fail(StoreErrc::corrupt);
    else if (past.error() != StoreErrc::not_found) return fail(past.error());
    if (head.sequence == 0) return {};
    auto sealed = txn.get(dbi, audit_entry_key(head.sequence));
    if (!sealed) return fail(sealed.error() == StoreErrc::not_found ? make_error_code(StoreErrc::corrupt) : sealed.error());
    auto entry = open_audit_entry(keys, head.sequence, *sealed);
    if (!entry) return fail(entry.error());
    auto encoded = encode_audit_entry(*entry);
    if (!encoded) return fail(encoded.error());
    auto hash = audit_chain_hash(entry->previous_hash, *encoded);
    if (!hash) return fail(hash.error());
    if (entry->sequence != head.sequence || *hash != head.hash) return fail(StoreErrc::corrupt);
    return {};
}

// A log with neither entries nor a head is new: it gets the genesis head.
Result<void> ensure_genesis(store::Env& env, const crypto::KeySet& keys, store::Dbi dbi) {
    auto txn = store::WriteTxn::begin(env);
    if (!txn) return fail(txn.error());
    {
        auto cursor = store::Cursor::open(*txn, dbi);
        if (!cursor) return fail(cursor.error());
        auto first = cursor->first();
        if (!first) return fail(first.error());
        if (*first) return {};  // not new; the transaction aborts
    }
    if (auto r = put_head(*txn, keys, dbi, AuditHead{}); !r) return r;
    return txn->commit();
}

// The walk of read(): newest first, from the last key of the database.
class NewestFirst {
public:
    static Result<NewestFirst> open(store::ReadTxn& txn, store::Dbi dbi) {
        auto cursor = store::Cursor::open(txn, dbi);
        if (!cursor) return fail(cursor.error());
        return NewestFirst(std::move(*cursor));
    }
    // The previous entry (the last one on the first call); nullopt before the first entry.
    Result<std::optional<store::Entry>> step() {
        const bool first = !started_;
        started_ = true;
        return first ? cursor_.last() : cursor_.prev();
    }

private:
    explicit NewestFirst(store::Cursor cursor) : cursor_(std::move(cursor)) {}
    store::Cursor cursor_;
    bool started_ = false;
};

}  // namespace

Result<AuditLog> AuditLog::open(store::Env& audit_env, std::shared_ptr<const crypto::KeySet> keys,
                                AuditCreate create) {
    VMX_ASSERT(keys != nullptr);
    auto dbi = audit_env.open_dbi("audit");
    if (!dbi) return fail(dbi.error());
    if (create == AuditCreate::if_empty) {
        if (auto r = ensure_genesis(audit_env, *keys, *dbi); !r) return fail(r.error());
    }
    return AuditLog(audit_env, std::move(keys), *dbi);
}

Result<AuditAppended> AuditLog::append(const AuditEntry& entry) {
    auto done = append_once(entry);
    // Another node appended between this one's read of the head and its commit (a shared store):
    // nothing was written; the entry goes after that one's.
    for (int retry = 0; !done && done.error() == StoreErrc::conflict && retry < conflict_retries_max; ++retry)
        done = append_once(entry);
    if (done || done.error() != StoreErrc::map_full) return done;
    if (auto grown = env_->grow(); !grown) return fail(grown.error());
    return append_once(entry);
}

Result<AuditAppended> AuditLog::append_once(const AuditEntry& input) {
    auto entry = normalise_audit_entry(input);
    if (!entry) return fail(entry.error());
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto head = read_audit_head(*txn, *keys_, dbi_);
    if (!head) return fail(head.error());
    if (!*head) return fail(StoreErrc::corrupt);  // the head is gone: verify reports it
    const AuditHead last = **head;
    if (last.sequence >= audit_sequence_max) return fail(StoreErrc::invalid_request);
    if (auto r = check_tail(*txn, *keys_, dbi_, last); !r) {
        // In a store shared by nodes the reads of one write are not one snapshot: an entry past
        // the head read a moment ago is another node's append (this commit's guard on the head
        // would refuse it too). `audit verify` still finds a chain that is really damaged.
        if (r.error() == StoreErrc::corrupt && env_->space() != nullptr) return fail(StoreErrc::conflict);
        return fail(r.error());
    }

    entry->sequence = last.sequence + 1;
    entry->previous_hash = last.hash;
    entry->time_unix = std::max(entry->time_unix, last.time_unix);
    auto encoded = encode_audit_entry(*entry);
    if (!encoded) return fail(encoded.error());
    auto hash = audit_chain_hash(last.hash, *encoded);
    if (!hash) return fail(hash.error());
    auto sealed = store::seal_value(*keys_, audit_scope, audit_entry_identity(entry->sequence), *encoded,
                                    store::Compress::never);
    if (!sealed) return fail(sealed.error());
    if (auto r = txn->put(dbi_, audit_entry_key(entry->sequence), *sealed, store::PutMode::no_overwrite); !r)
        return fail(r.error());
    const AuditHead next{entry->sequence, entry->time_unix, *hash};
    if (auto r = put_head(*txn, *keys_, dbi_, next); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) {
        // The environment may have dropped dirty pages (PLATFORM.md): fail, and reopen before the
        // next write. The entry is not acknowledged; the caller reports the failure.
        if (r.error() != StoreErrc::map_full) (void)env_->reopen();
        return fail(r.error());
    }
    return AuditAppended{next.sequence, next.time_unix, next.hash};
}

Result<std::vector<AuditEntry>> AuditLog::read(std::int64_t since_unix, std::size_t limit) const {
    limit = std::min(limit, audit_read_limit_max);
    std::vector<AuditEntry> out;
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto walk = NewestFirst::open(*txn, dbi_);
    if (!walk) return fail(walk.error());
    while (out.size() < limit) {
        auto e = walk->step();
        if (!e) return fail(e.error());
        if (!*e) break;
        const AuditKey key = classify_audit_key((*e)->key);
        if (key.kind == AuditKeyKind::head) continue;
        if (key.kind != AuditKeyKind::entry) return fail(StoreErrc::corrupt);
        auto entry = open_audit_entry(*keys_, key.sequence, (*e)->value);
        if (!entry) return fail(entry.error());
        if (entry->sequence != key.sequence) return fail(StoreErrc::corrupt);
        if (entry->time_unix < since_unix) break;  // times never decrease along the chain
        out.push_back(std::move(*entry));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

Result<store::RewrapJob> AuditLog::rewrap_job() {
    auto state = env_->open_dbi("audit_rewrap");
    if (!state) return fail(state.error());
    return store::RewrapJob(*env_, dbi_, *state, crypto::StoreKind::audit, 0, "audit",
                            [](std::uint64_t) { return std::optional<crypto::Scope>(audit_scope); });
}

Result<crypto::KeyRef> ensure_audit_key(crypto::Keyring& ring, store::KeyStore& key_store, std::int64_t now_unix) {
    const std::size_t before = ring.records().size();
    auto ref = ring.ensure_scope_key(audit_scope, now_unix);
    if (!ref) return fail(ref.error());
    if (ring.records().size() != before) {
        if (auto saved = key_store.save(ring); !saved) return fail(saved.error());
        ring.saved();
    }
    return *ref;
}

Result<void> AuditLog::start_chain(const store::StoreLayout& layout, std::shared_ptr<const crypto::KeySet> keys) {
    auto env = layout.open_env(store::GlobalKind::audit);
    if (!env) return fail(env.error());
    auto audit = AuditLog::open(**env, std::move(keys), AuditCreate::if_empty);
    if (!audit) return fail(audit.error());
    return {};
}

}  // namespace vmx
