// The audit log: every admin command (who by uid, what, when, result) appended to the global
// `audit` environment as a hash chain of sealed entries (entry format: appliance/audit_entry.h).
// Threads: an AuditLog belongs to the control thread (the environment's one writer), which calls
// every member; read() and verify() only take read transactions, so they never block a writer.
// Invariants: sequences start at 1 with no gap; entry n carries hash_{n-1}; the sealed head names
// the last sequence, its hash and its time; times never decrease along the chain.
//
// Database "audit" (store/record_key.h keys, so the rewrap job can move it to a new key version):
//   (owner 0, record (n << 4) | 0) -> seal(encode(entry n)), identity {audit, 0, 0, (n << 4)}
//   (owner 1, record 0)            -> seal(head), identity {audit, 0, 1, 0};
//                                     head = format (1) = 1 | last sequence (8 LE) | last time (8 LE) | hash (32)
// Both are sealed under the appliance scope key. Without that key nobody can change, move or add
// an entry or a head undetected; with it (or with an old copy of the file, whose head can be put
// back) the tail can be rewritten, which only a copy of the head kept elsewhere can reveal: the
// caller logs every AuditAppended (sequence and hash) to the shipped log for that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "appliance/audit/entry.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/key_store.h"
#include "store/layout.h"
#include "store/lmdb.h"
#include "store/rewrap_job.h"

namespace vmx {

inline constexpr crypto::Scope audit_scope{crypto::ScopeKind::appliance, 0};
inline constexpr std::size_t audit_read_limit_max = 10000;

struct AuditAppended {
    std::uint64_t sequence = 0;
    std::int64_t time_unix = 0;  // as recorded (never before the previous entry's)
    AuditHash hash{};
};

enum class AuditFault : std::uint8_t {
    none = 0,
    changed = 1,     // an entry or the head does not open (a byte changed), is malformed, or breaks the chain
    removed = 2,     // a sequence is missing before the last entry
    reordered = 3,   // an entry holds another sequence's value, or time goes backwards
    truncated = 4,   // the head names entries that are gone, or the head itself is gone
    unreadable = 5,  // the environment could not be read (I/O, LMDB error): nothing was judged
};
std::string_view name_of(AuditFault fault) noexcept;  // "ok", "changed", "removed", ...

struct AuditVerifyReport {
    AuditFault fault = AuditFault::none;
    std::uint64_t entries = 0;       // entries that verified, from 1 on (all of them when ok)
    std::uint64_t bad_sequence = 0;  // the first bad sequence; 0 when ok or when only the head is bad
    std::uint64_t head_sequence = 0;  // as the verified head names it (when ok)
    AuditHash head_hash{};
    std::string detail;  // one line for the admin, naming the sequence and what is wrong
    bool ok() const noexcept { return fault == AuditFault::none; }
};

// What `vaultmx audit verify` prints:
//   ok:    "audit: ok: 42 entries, head 42 sha256 9f86d0...(64 hex)"
//   fault: "audit: FAILED at entry 17: changed: entry 17 does not open under the appliance key (...)"
// The CLI exits 0 only when report.ok().
std::string format_audit_verify(const AuditVerifyReport& report);

// Whether open() may start a new chain in an empty database. `vaultmx init` passes if_empty; the
// daemon passes never, so a log emptied offline (head and entries deleted) stays detectable
// instead of silently starting over at its next start.
enum class AuditCreate : std::uint8_t { never, if_empty };

class AuditLog {
public:
    // Opens (creating) the database. With AuditCreate::if_empty a log with neither entries nor head
    // gets its genesis head (sequence 0, zero hash); from then on a missing head is detected. An
    // open log whose chain is broken still opens (verify() says what is wrong; append() refuses).
    // Control thread; `keys` must hold the appliance scope key (ensure_audit_key); set_keys() swaps
    // snapshots after a key change.
    static Result<AuditLog> open(store::Env& audit_env, std::shared_ptr<const crypto::KeySet> keys,
                                 AuditCreate create);
    // For `vaultmx init`: opens the layout's audit environment and starts the chain when it is empty
    // (AuditCreate::if_empty), then closes it again.
    static Result<void> start_chain(const store::StoreLayout& layout, std::shared_ptr<const crypto::KeySet> keys);

    // Appends one entry (normalise_audit_entry first: secrets redacted, fields cut to their limits)
    // and the new head in one durable transaction. The entry's sequence and previous_hash are
    // assigned here; its time is raised to the previous entry's if the clock went back. Errors:
    // invalid_request (empty command), corrupt (the head is missing or does not open, or entries
    // exist past it, or the last entry does not hash to the head: verify says which; nothing is
    // appended on a broken chain), crypto errors from sealing, LMDB errors from the commit (after
    // which the Env has been reopened). A full map is grown once and the append retried.
    Result<AuditAppended> append(const AuditEntry& entry);

    // Up to `limit` (at most audit_read_limit_max) of the newest entries with time_unix >= since_unix,
    // oldest first. An entry that does not open fails the whole read (crypto error): run verify.
    Result<std::vector<AuditEntry>> read(std::int64_t since_unix, std::size_t limit) const;

    // Walks the whole chain and the head; stops at the first fault.
    AuditVerifyReport verify() const;

    void set_keys(std::shared_ptr<const crypto::KeySet> keys) { keys_ = std::move(keys); }
    store::Dbi dbi() const noexcept { return dbi_; }
    // Moves the log's records to the appliance scope's active key after a rotation (the caller
    // steps it in small batches); its position is kept in the database "audit_rewrap".
    Result<store::RewrapJob> rewrap_job();

private:
    AuditLog(store::Env& env, std::shared_ptr<const crypto::KeySet> keys, store::Dbi dbi)
        : env_(&env), keys_(std::move(keys)), dbi_(dbi) {}
    Result<AuditAppended> append_once(const AuditEntry& entry);
    static constexpr int conflict_retries_max = 16;

    store::Env* env_;
    std::shared_ptr<const crypto::KeySet> keys_;
    store::Dbi dbi_;
};

// The appliance scope key, created (version 1) and saved to the `keys` environment on first use.
// Control thread, before the KeySet snapshot that AuditLog::open gets is taken.
Result<crypto::KeyRef> ensure_audit_key(crypto::Keyring& ring, store::KeyStore& key_store, std::int64_t now_unix);

}  // namespace vmx
