// The store's environments and transactions. An Env is an LMDB environment (Env::open: Env owns an
// MDB_env, WriteTxn and ReadTxn own an MDB_txn, Cursor an MDB_cursor) or lives in any Space of the
// storage seam (Env::over, e.g. on RADOS: store/space_txn.h says how its transactions behave), and
// everything above uses the same calls for both. LMDB's header stays inside the store.
// Errors are values (store/errc.h); a transaction that failed refuses further use.
// Threads: an Env is shared by its one writer (the store lane) and any number of readers. Growing
// the map and reopening remap the file, so both wait for every ReadTxn of this process to release
// its snapshot (a shared lock held from begin/renew to reset/end): keep read transactions short.
// A WriteTxn belongs to the thread that began it (MDB_NOTLS is not used for writers).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/backend.h"
#include "store/errc.h"
#include "store/space_txn.h"

// LMDB's handles, declared only: nothing that includes this header sees LMDB's API or types.
struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

namespace vmx::store {

using Bytes = std::span<const std::uint8_t>;

// Who else may use the files while this process has them open.
enum class EnvAccess : std::uint8_t {
    write,         // the writer (and its readers): the daemon, init
    read_shared,   // MDB_RDONLY beside a live writer in another process: readers register in the lock
                   // file, so the writer never reuses a page they see (a backup of a serving store)
    read_private,  // MDB_RDONLY | MDB_NOLOCK: files nobody else opens (a backup being verified)
};

struct EnvOptions {
    EnvAccess access = EnvAccess::write;
    std::size_t map_bytes = std::size_t{64} << 20;      // initial map size (the file grows as used)
    std::size_t map_bytes_max = std::size_t{64} << 20;  // grow() doubles up to this, then map_full
    unsigned dbs_max = 8;                               // named databases
    unsigned readers_max = 126;
    unsigned file_mode = 0600;
};

// One named database of an environment; valid for the Env's lifetime (and across its reopen()).
struct Dbi {
    unsigned int id = 0;  // LMDB's MDB_dbi
};

class Env {
public:
    // Opens (creating data.mdb in the existing folder `path` if absent) with LMDB's default durable
    // sync (never MDB_NOSYNC: see PLATFORM.md) and MDB_NOTLS so read transactions may be reset and
    // renewed on any thread. The map is options.map_bytes, or more if the data already in the file
    // needs more (LMDB does not remember a grown map; the writer grows it again on demand).
    static Result<std::unique_ptr<Env>> open(const std::string& path, const EnvOptions& options);
    // An environment in a space of the storage seam; `label` names it in logs (path()). Named
    // databases are the space's tables. The file operations are LMDB's: over a space, reopen does
    // nothing (nothing is cached), grow answers map_full, and copy_to, database_names, free_bytes
    // and bytes_used answer invalid_request.
    static std::unique_ptr<Env> over(std::unique_ptr<Space> space, std::string label);
    // The space it lives in; null for an LMDB environment.
    Space* space() const noexcept { return space_.get(); }
    ~Env();
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;

    // Opens (creating if absent) a named database in its own committed write transaction. Writer only.
    // In a read-only environment it opens an existing one only (not_found otherwise).
    Result<Dbi> open_dbi(const char* name);
    // A compacted copy of one read snapshot into the existing, empty folder `to` (to/data.mdb),
    // through this handle: a process must not open an environment twice (LMDB's locks are per
    // process). Waits for no writer; a grow or reopen waits for it. Any thread.
    Result<void> copy_to(const std::string& to);
    // The names of the named databases (the keys of the main database), in order.
    Result<std::vector<std::string>> database_names();

    // Doubles the map (capped at map_bytes_max) after MDB_MAP_FULL. Writer only, with no write
    // transaction active; waits for readers. map_full when already at the maximum.
    Result<void> grow();
    // Closes and reopens the environment after a failed commit (PLATFORM.md, fsyncgate), keeping the
    // map size; named databases are reopened with the same handles. Writer only; waits for readers.
    Result<void> reopen();

    // Bytes an unprivileged writer may still add to the file system holding the environment
    // (statvfs f_bavail), to tell a short write on a full disk from an I/O error. Any thread.
    Result<std::uint64_t> free_bytes() const;
    // Bytes of the file in use (pages up to the last one written). Any thread; waits for a remap.
    Result<std::uint64_t> bytes_used();

    std::size_t map_bytes() const noexcept { return map_bytes_.load(std::memory_order_relaxed); }
    std::size_t map_bytes_max() const noexcept { return options_.map_bytes_max; }
    const std::string& path() const noexcept { return path_; }
    // Counts reopen() calls; a ReadTxn from an older generation cannot renew().
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    std::size_t key_bytes_max() const noexcept;
    MDB_env* raw() const noexcept { return env_.get(); }

private:
    friend class ReadTxn;
    struct Close {
        void operator()(MDB_env* e) const noexcept;
    };
    using EnvPtr = std::unique_ptr<MDB_env, Close>;
    Env(std::string path, const EnvOptions& options) : path_(std::move(path)), options_(options) {}
    static Result<EnvPtr> open_raw(const std::string& path, const EnvOptions& options, std::size_t map_bytes);

    std::string path_;
    EnvOptions options_;
    EnvPtr env_;
    std::atomic<std::size_t> map_bytes_{0};
    std::atomic<std::uint64_t> generation_{0};
    std::shared_mutex remap_;  // shared: a live read snapshot; exclusive: grow / reopen
    std::vector<std::pair<std::string, Dbi>> dbis_;  // opened through open_dbi, for reopen()
    std::unique_ptr<Space> space_;
};

enum class PutMode : std::uint8_t { overwrite, no_overwrite };

class WriteTxn {
public:
    static Result<WriteTxn> begin(Env& env);
    WriteTxn(WriteTxn&& other) noexcept;
    WriteTxn& operator=(WriteTxn&&) = delete;
    ~WriteTxn();

    // On any error but not_found/exists-style answers the transaction is aborted and refuses further
    // use (StoreErrc::failed); the caller reports the error and begins a new one.
    Result<void> put(Dbi dbi, Bytes key, Bytes value, PutMode mode = PutMode::overwrite);
    // True when the key existed.
    Result<bool> erase(Dbi dbi, Bytes key);
    // The value (valid until this transaction ends or writes again), or not_found.
    Result<Bytes> get(Dbi dbi, Bytes key);
    // Durable when it returns success (default sync). Consumes the transaction either way.
    Result<void> commit();
    void abort() noexcept;
    bool usable() const noexcept { return txn_ != nullptr || remote_ != nullptr; }
    MDB_txn* raw() const noexcept { return txn_; }

private:
    explicit WriteTxn(MDB_txn* txn) : txn_(txn) {}
    explicit WriteTxn(std::unique_ptr<SpaceWrite> remote);
    std::error_code break_with(int rc) noexcept;
    MDB_txn* txn_ = nullptr;
    std::unique_ptr<SpaceWrite> remote_;
    friend class Cursor;
};

class ReadTxn {
public:
    static Result<ReadTxn> begin(Env& env);
    ReadTxn(ReadTxn&& other) noexcept;
    ReadTxn& operator=(ReadTxn&&) = delete;
    ~ReadTxn();

    Result<Bytes> get(Dbi dbi, Bytes key);  // valid until reset() or the end of the transaction
    // Releases the snapshot (and the remap lock) but keeps the reader slot for renew().
    void reset() noexcept;
    // A fresh snapshot; StoreErrc::closed if the Env was reopened since begin().
    Result<void> renew();
    bool active() const noexcept { return (txn_ != nullptr || remote_ != nullptr) && !reset_; }
    MDB_txn* raw() const noexcept { return txn_; }

private:
    ReadTxn(Env& env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock);
    ReadTxn(Env& env, std::unique_ptr<SpaceRead> remote);
    friend class Cursor;
    Env* env_ = nullptr;
    MDB_txn* txn_ = nullptr;
    std::shared_lock<std::shared_mutex> lock_;
    std::uint64_t generation_ = 0;
    bool reset_ = false;
    std::unique_ptr<SpaceRead> remote_;
};

struct Entry {
    Bytes key;
    Bytes value;
};

// A cursor over one database inside a live transaction; must not outlive it.
class Cursor {
public:
    static Result<Cursor> open(ReadTxn& txn, Dbi dbi);
    static Result<Cursor> open(WriteTxn& txn, Dbi dbi);
    Cursor(Cursor&& other) noexcept
        : cursor_(std::exchange(other.cursor_, nullptr)), remote_(std::move(other.remote_)) {}
    Cursor& operator=(Cursor&&) = delete;
    ~Cursor();

    // std::nullopt at the end (or for an empty database).
    Result<std::optional<Entry>> first() { return step(nullptr, Op::first); }
    Result<std::optional<Entry>> next() { return step(nullptr, Op::next); }
    Result<std::optional<Entry>> last() { return step(nullptr, Op::last); }
    Result<std::optional<Entry>> prev() { return step(nullptr, Op::prev); }
    // The first entry whose key is >= key.
    Result<std::optional<Entry>> seek(Bytes key) { return step(&key, Op::seek); }

private:
    enum class Op : std::uint8_t { first, next, last, prev, seek };
    explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
    static Result<Cursor> open(MDB_txn* txn, Dbi dbi);
    Result<std::optional<Entry>> step(const Bytes* key, Op op);
    explicit Cursor(std::unique_ptr<SpaceCursor> remote);
    MDB_cursor* cursor_ = nullptr;
    std::unique_ptr<SpaceCursor> remote_;
};

}  // namespace vmx::store
