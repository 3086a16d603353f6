// The storage seam: what the store needs of the place its sealed bytes live, and nothing of LMDB or
// RADOS. A Space is one unit of atomicity: an LMDB environment, or one RADOS object whose omap holds
// every table of the space (RADOS is atomic per object, so a batch may span the space's tables and
// still apply whole). Tables are ordered maps of byte keys to byte values inside a space; blobs are
// large values (message bodies) kept beside the tables, each on its own (a RADOS object of its own).
//
// Every value handed to a Space is already sealed by the caller: a backend stores ciphertext only.
//
// Semantics every backend keeps (tests/store/backend_conformance_test.cc runs them on each):
// - commit(batch) applies all of the batch's changes, in order, or none. Each expectation (a key
//   absent, present, equal to a value, or a lease still held by a holder) is checked in the same
//   atomic step; one that fails gives StoreErrc::conflict and nothing is written.
// - A Snapshot reads one committed state; latest() reads whatever is committed at each call. A backend that cannot pin a state for long (RADOS) fails a
//   read with StoreErrc::conflict once the space has changed since the snapshot began; it never mixes
//   two states. The caller begins a new snapshot and reads again.
// - A lease is a named, timed, exclusive claim (a mailbox's POP3 lock, a segment's single writer):
//   acquire by another holder gives StoreErrc::lease_busy while it runs; the same holder renews it.
//   A batch that expects the lease fails once the lease was lost, so a writer that stalled past its
//   lease cannot overwrite its successor's work (fencing).
// - Blobs are written whole and read by range. A blob and a table entry are not one atomic step:
//   a caller writes the blob first and commits the entry naming it after.
//
// Threads: a Space may be used from several threads at once; a Snapshot belongs to one thread.
// commit_async calls `done` once, on a backend thread or on the caller's before it returns (LMDB
// commits on the calling thread): `done` posts the outcome to the owning shard and returns.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/result.h"
#include "store/errc.h"

namespace vmx::store {

using ByteView = std::span<const std::uint8_t>;
using ByteString = std::vector<std::uint8_t>;

// Bounds every backend accepts (LMDB's default key limit is 511 bytes; RADOS omap keys are stored as
// hex, so twice that plus the table's name).
inline constexpr std::size_t backend_key_bytes_max = 480;
inline constexpr std::size_t backend_table_name_max = 32;
inline constexpr std::size_t backend_value_bytes_max = std::size_t{1} << 20;  // a table value
inline constexpr std::size_t backend_blob_bytes_max = std::size_t{64} << 20;
inline constexpr std::size_t backend_scan_max = 4096;  // entries one scan returns at most

// A table of a space, from Space::table(); valid for that space only.
struct Table {
    std::uint32_t id = 0;
};

enum class ChangeKind : std::uint8_t { put, erase };
struct Change {
    ChangeKind kind = ChangeKind::put;
    Table table;
    ByteString key;
    ByteString value;  // empty for erase
};

enum class ExpectKind : std::uint8_t { absent, present, equals, lease_held };
struct Expect {
    ExpectKind kind = ExpectKind::absent;
    Table table;         // unused for lease_held
    ByteString key;      // lease_held: the lease's name
    ByteString value;    // equals: the value; lease_held: the holder
};

// Changes applied together, after every expectation held.
struct Batch {
    std::vector<Expect> expects;
    std::vector<Change> changes;

    void put(Table t, ByteView key, ByteView value) {
        changes.push_back({ChangeKind::put, t, {key.begin(), key.end()}, {value.begin(), value.end()}});
    }
    void erase(Table t, ByteView key) { changes.push_back({ChangeKind::erase, t, {key.begin(), key.end()}, {}}); }
    void expect_absent(Table t, ByteView key) { expects.push_back({ExpectKind::absent, t, {key.begin(), key.end()}, {}}); }
    void expect_present(Table t, ByteView key) {
        expects.push_back({ExpectKind::present, t, {key.begin(), key.end()}, {}});
    }
    void expect_equals(Table t, ByteView key, ByteView value) {
        expects.push_back({ExpectKind::equals, t, {key.begin(), key.end()}, {value.begin(), value.end()}});
    }
    void expect_lease(std::string_view lease, std::string_view holder) {
        expects.push_back({ExpectKind::lease_held, {}, {lease.begin(), lease.end()}, {holder.begin(), holder.end()}});
    }
    bool empty() const noexcept { return expects.empty() && changes.empty(); }
};

struct KeyValue {
    ByteString key;
    ByteString value;
};

class Snapshot {
public:
    virtual ~Snapshot() = default;
    // The value, or nothing when the key is absent.
    virtual Result<std::optional<ByteString>> get(Table table, ByteView key) = 0;
    // Entries whose key is >= from (every entry for an empty from), in key order, at most
    // min(max, backend_scan_max). Scan again from the last key plus a zero byte for more.
    virtual Result<std::vector<KeyValue>> scan(Table table, ByteView from, std::size_t max) = 0;
};

class Space {
public:
    virtual ~Space() = default;

    // The table of that name (lower-case letters, digits, '_' and '-', 1..backend_table_name_max),
    // created when absent.
    virtual Result<Table> table(std::string_view name) = 0;
    virtual Result<std::unique_ptr<Snapshot>> snapshot() = 0;
    // A view that reads the latest committed state on every call (each call alone sees one state):
    // what readers use where a pinned state would only fail more often (RADOS), and what a write
    // transaction over a space reads through (store/space_txn.h).
    virtual Result<std::unique_ptr<Snapshot>> latest() = 0;
    // Durable when it returns success. conflict: an expectation failed, nothing written;
    // invalid_request: an empty or oversized key or value, or an unknown table.
    virtual Result<void> commit(const Batch& batch) = 0;
    virtual void commit_async(Batch batch, std::function<void(std::error_code)> done) = 0;

    // Blobs: names are byte strings like keys. put replaces the whole blob.
    virtual Result<void> put_blob(ByteView name, ByteView data) = 0;
    // Up to max bytes from offset (fewer at the end), or nothing when the blob is absent.
    virtual Result<std::optional<ByteString>> read_blob(ByteView name, std::uint64_t offset, std::size_t max) = 0;
    // True when it existed.
    virtual Result<bool> erase_blob(ByteView name) = 0;

    // Takes or renews the lease `name` for `holder` for duration_ms from now; lease_busy when another
    // holder's lease runs. Names and holders: printable ASCII, 1..64 bytes.
    virtual Result<void> acquire_lease(std::string_view name, std::string_view holder, std::uint32_t duration_ms) = 0;
    // Gives it up; not_found when `holder` does not hold it (any more).
    virtual Result<void> release_lease(std::string_view name, std::string_view holder) = 0;

    virtual std::string_view backend_name() const noexcept = 0;
};

// The checks both backends apply before touching storage.
bool valid_table_name(std::string_view name) noexcept;
bool valid_lease_text(std::string_view text) noexcept;
// invalid_request for an empty or oversized key or value in the batch, or a bad lease text.
std::error_code check_batch(const Batch& batch, std::size_t tables) noexcept;

}  // namespace vmx::store
