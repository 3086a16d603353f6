#include "store/lmdb.h"

#include <lmdb.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "store/backend.h"
#include "store/space_txn.h"

namespace vmx::store {
namespace {

MDB_val to_val(Bytes b) noexcept {
    return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())};  // LMDB never writes through it
}

Bytes from_val(const MDB_val& v) noexcept { return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size}; }

}  // namespace

// --- Env -----------------------------------------------------------------------------------------

Result<Env::EnvPtr> Env::open_raw(const std::string& path, const EnvOptions& options, std::size_t map_bytes) {
    MDB_env* raw = nullptr;
    if (int rc = mdb_env_create(&raw); rc != 0) return fail(lmdb_error(rc));
    EnvPtr env(raw);
    if (int rc = mdb_env_set_maxdbs(raw, options.dbs_max); rc != 0) return fail(lmdb_error(rc));
    if (int rc = mdb_env_set_maxreaders(raw, options.readers_max); rc != 0) return fail(lmdb_error(rc));
    if (int rc = mdb_env_set_mapsize(raw, map_bytes); rc != 0) return fail(lmdb_error(rc));
    // Default sync: never MDB_NOSYNC, MDB_NOMETASYNC or MDB_WRITEMAP (PLATFORM.md).
    unsigned flags = MDB_NOTLS;
    if (options.access != EnvAccess::write) flags |= MDB_RDONLY;
    if (options.access == EnvAccess::read_private) flags |= MDB_NOLOCK;
    if (int rc = mdb_env_open(raw, path.c_str(), flags, static_cast<mdb_mode_t>(options.file_mode)); rc != 0)
        return fail(lmdb_error(rc));
    return env;
}

Result<std::unique_ptr<Env>> Env::open(const std::string& path, const EnvOptions& options) {
    VMX_ASSERT(options.map_bytes > 0 && options.map_bytes <= options.map_bytes_max);
    std::unique_ptr<Env> env(new Env(path, options));
    auto raw = open_raw(path, options, options.map_bytes);
    if (!raw) return fail(raw.error());
    env->env_ = std::move(*raw);
    MDB_envinfo info{};
    mdb_env_info(env->env_.get(), &info);  // a file grown earlier keeps its larger map
    env->map_bytes_.store(info.me_mapsize, std::memory_order_relaxed);
    return env;
}

Env::~Env() = default;

std::unique_ptr<Env> Env::over(std::unique_ptr<Space> space, std::string label) {
    std::unique_ptr<Env> env(new Env(std::move(label), EnvOptions{}));
    env->space_ = std::move(space);
    return env;
}

void Env::Close::operator()(MDB_env* e) const noexcept { mdb_env_close(e); }

Result<std::uint64_t> Env::bytes_used() {
    if (space_) return fail(StoreErrc::invalid_request);
    std::shared_lock lock(remap_);
    if (!env_) return fail(StoreErrc::closed);
    MDB_envinfo info{};
    MDB_stat stat{};
    if (int rc = mdb_env_info(env_.get(), &info); rc != 0) return fail(lmdb_error(rc));
    if (int rc = mdb_env_stat(env_.get(), &stat); rc != 0) return fail(lmdb_error(rc));
    return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

std::size_t Env::key_bytes_max() const noexcept {
    if (space_) return backend_key_bytes_max;
    return static_cast<std::size_t>(mdb_env_get_maxkeysize(env_.get()));
}

Result<Dbi> Env::open_dbi(const char* name) {
    if (space_) {
        auto table = space_->table(name ? name : "");
        if (!table) return fail(table.error());
        return Dbi{table->id};
    }
    const bool read_only = options_.access != EnvAccess::write;
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_.get(), nullptr, read_only ? MDB_RDONLY : 0u, &txn); rc != 0)
        return fail(lmdb_error(rc));
    MDB_dbi dbi = 0;
    if (int rc = mdb_dbi_open(txn, name, read_only ? 0u : MDB_CREATE, &dbi); rc != 0) {
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND) return fail(StoreErrc::not_found);
        return fail(lmdb_error(rc));
    }
    if (int rc = mdb_txn_commit(txn); rc != 0) return fail(lmdb_error(rc));
    dbis_.emplace_back(name ? name : "", Dbi{dbi});
    return Dbi{dbi};
}

Result<void> Env::copy_to(const std::string& to) {
    if (space_) return fail(StoreErrc::invalid_request);
    std::shared_lock lock(remap_);  // no remap under the copy's snapshot
    if (!env_) return fail(StoreErrc::closed);
    if (int rc = mdb_env_copy2(env_.get(), to.c_str(), MDB_CP_COMPACT); rc != 0) return fail(lmdb_error(rc));
    return {};
}

Result<std::vector<std::string>> Env::database_names() {
    if (space_) return fail(StoreErrc::invalid_request);
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &txn); rc != 0) return fail(lmdb_error(rc));
    std::vector<std::string> names;
    MDB_dbi main = 0;
    MDB_cursor* cursor = nullptr;
    int rc = mdb_dbi_open(txn, nullptr, 0, &main);
    if (rc == 0) rc = mdb_cursor_open(txn, main, &cursor);
    MDB_val key{};
    MDB_val value{};
    for (int step = rc == 0 ? mdb_cursor_get(cursor, &key, &value, MDB_FIRST) : rc; step == 0;
         step = mdb_cursor_get(cursor, &key, &value, MDB_NEXT))
        names.emplace_back(static_cast<const char*>(key.mv_data), key.mv_size);
    if (cursor != nullptr) mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    if (rc != 0) return fail(lmdb_error(rc));
    return names;
}

Result<void> Env::grow() {
    if (space_) return fail(StoreErrc::map_full);
    const std::size_t current = map_bytes();
    if (current >= options_.map_bytes_max) return fail(StoreErrc::map_full);
    const std::size_t next = current > options_.map_bytes_max / 2 ? options_.map_bytes_max : current * 2;
    std::unique_lock lock(remap_);  // no read snapshot may live across the remap
    if (int rc = mdb_env_set_mapsize(env_.get(), next); rc != 0) return fail(lmdb_error(rc));
    MDB_envinfo info{};
    mdb_env_info(env_.get(), &info);
    map_bytes_.store(info.me_mapsize, std::memory_order_relaxed);
    return {};
}

Result<std::uint64_t> Env::free_bytes() const {
    if (space_) return fail(StoreErrc::invalid_request);
    struct statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) != 0) return fail_errno(errno);
    return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

Result<void> Env::reopen() {
    if (space_) return {};
    std::unique_lock lock(remap_);
    env_.reset();  // closing drops whatever the failed commit left in this process
    generation_.fetch_add(1, std::memory_order_acq_rel);
    auto raw = open_raw(path_, options_, map_bytes());
    if (!raw) return fail(raw.error());  // env_ stays null: every later use answers closed
    env_ = std::move(*raw);
    for (const auto& [name, old] : dbis_) {
        MDB_txn* txn = nullptr;
        if (int rc = mdb_txn_begin(env_.get(), nullptr, 0, &txn); rc != 0) return fail(lmdb_error(rc));
        MDB_dbi dbi = 0;
        const int rc = mdb_dbi_open(txn, name.empty() ? nullptr : name.c_str(), MDB_CREATE, &dbi);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return fail(lmdb_error(rc));
        }
        if (int crc = mdb_txn_commit(txn); crc != 0) return fail(lmdb_error(crc));
        VMX_ASSERT(dbi == old.id);  // handles are slots assigned in opening order
    }
    return {};
}

// --- WriteTxn ------------------------------------------------------------------------------------

WriteTxn::WriteTxn(std::unique_ptr<SpaceWrite> remote) : remote_(std::move(remote)) {}

Result<WriteTxn> WriteTxn::begin(Env& env) {
    if (env.space() != nullptr) {
        auto remote = SpaceWrite::begin(*env.space());
        if (!remote) return fail(remote.error());
        return WriteTxn(std::move(*remote));
    }
    if (env.raw() == nullptr) return fail(StoreErrc::closed);
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env.raw(), nullptr, 0, &txn); rc != 0) return fail(lmdb_error(rc));
    return WriteTxn(txn);
}

WriteTxn::WriteTxn(WriteTxn&& other) noexcept
    : txn_(std::exchange(other.txn_, nullptr)), remote_(std::move(other.remote_)) {}

WriteTxn::~WriteTxn() { abort(); }

void WriteTxn::abort() noexcept {
    remote_.reset();
    if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
}

std::error_code WriteTxn::break_with(int rc) noexcept {
    abort();  // LMDB marks the transaction broken; so do we, by ending it
    return lmdb_error(rc);
}

Result<void> WriteTxn::put(Dbi dbi, Bytes key, Bytes value, PutMode mode) {
    if (remote_) return remote_->put(dbi.id, key, value, mode == PutMode::no_overwrite);
    if (txn_ == nullptr) return vmx::fail(StoreErrc::failed);
    MDB_val k = to_val(key);
    MDB_val v = to_val(value);
    const unsigned flags = mode == PutMode::no_overwrite ? MDB_NOOVERWRITE : 0u;
    const int rc = mdb_put(txn_, dbi.id, &k, &v, flags);
    if (rc == MDB_KEYEXIST) return vmx::fail(std::error_code(rc, lmdb_category()));  // txn stays usable
    if (rc != 0) return vmx::fail(break_with(rc));
    return {};
}

Result<bool> WriteTxn::erase(Dbi dbi, Bytes key) {
    if (remote_) return remote_->erase(dbi.id, key);
    if (txn_ == nullptr) return vmx::fail(StoreErrc::failed);
    MDB_val k = to_val(key);
    const int rc = mdb_del(txn_, dbi.id, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return vmx::fail(break_with(rc));
    return true;
}

Result<Bytes> WriteTxn::get(Dbi dbi, Bytes key) {
    if (remote_) return remote_->get(dbi.id, key);
    if (txn_ == nullptr) return vmx::fail(StoreErrc::failed);
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_get(txn_, dbi.id, &k, &v);
    if (rc == MDB_NOTFOUND) return vmx::fail(StoreErrc::not_found);
    if (rc != 0) return vmx::fail(break_with(rc));
    return from_val(v);
}

Result<void> WriteTxn::commit() {
    if (remote_) {
        auto remote = std::move(remote_);  // consumed either way, like LMDB's
        return remote->commit();
    }
    if (txn_ == nullptr) return vmx::fail(StoreErrc::failed);
    const int rc = mdb_txn_commit(std::exchange(txn_, nullptr));  // frees the txn either way
    if (rc != 0) return vmx::fail(lmdb_error(rc));
    return {};
}

// --- ReadTxn -------------------------------------------------------------------------------------

ReadTxn::ReadTxn(Env& env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock)
    : env_(&env), txn_(txn), lock_(std::move(lock)), generation_(env.generation()) {}

ReadTxn::ReadTxn(Env& env, std::unique_ptr<SpaceRead> remote) : env_(&env), remote_(std::move(remote)) {}

Result<ReadTxn> ReadTxn::begin(Env& env) {
    if (env.space() != nullptr) {
        auto remote = SpaceRead::begin(*env.space());
        if (!remote) return fail(remote.error());
        return ReadTxn(env, std::move(*remote));
    }
    std::shared_lock lock(env.remap_);
    if (env.raw() == nullptr) return fail(StoreErrc::closed);
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env.raw(), nullptr, MDB_RDONLY, &txn); rc != 0) return fail(lmdb_error(rc));
    return ReadTxn(env, txn, std::move(lock));
}

ReadTxn::ReadTxn(ReadTxn&& other) noexcept
    : env_(other.env_),
      txn_(std::exchange(other.txn_, nullptr)),
      lock_(std::move(other.lock_)),
      generation_(other.generation_),
      reset_(other.reset_),
      remote_(std::move(other.remote_)) {}

ReadTxn::~ReadTxn() {
    if (txn_ == nullptr) return;
    if (env_->generation() == generation_) {
        mdb_txn_abort(txn_);
    } else {
        // A reset handle that outlived a reopen: its environment is closed, so mdb_txn_abort would
        // touch the unmapped reader table. mdb_env_close already released this process's reader
        // slots; what remains is the handle's memory, which LMDB 0.9 allocates with calloc in
        // mdb_txn_begin (re-check on an LMDB upgrade).
        std::free(txn_);
    }
    txn_ = nullptr;
}

Result<Bytes> ReadTxn::get(Dbi dbi, Bytes key) {
    if (!active()) return fail(StoreErrc::closed);
    if (remote_) return remote_->get(dbi.id, key);
    MDB_val k = to_val(key);
    MDB_val v{};
    const int rc = mdb_get(txn_, dbi.id, &k, &v);
    if (rc != 0) return fail(lmdb_error(rc));
    return from_val(v);
}

void ReadTxn::reset() noexcept {
    if (!active()) return;
    if (remote_) {
        remote_->release();  // its values end here, as LMDB's do
        reset_ = true;
        return;
    }
    mdb_txn_reset(txn_);
    reset_ = true;
    lock_.unlock();
}

Result<void> ReadTxn::renew() {
    if (remote_) {
        if (!reset_) return fail(StoreErrc::failed);
        reset_ = false;
        return {};
    }
    if (txn_ == nullptr || !reset_) return fail(StoreErrc::failed);
    std::shared_lock lock(env_->remap_);
    if (env_->generation() != generation_) return fail(StoreErrc::closed);
    if (int rc = mdb_txn_renew(txn_); rc != 0) return fail(lmdb_error(rc));
    lock_ = std::move(lock);
    reset_ = false;
    return {};
}

// --- Cursor --------------------------------------------------------------------------------------

Cursor::Cursor(std::unique_ptr<SpaceCursor> remote) : remote_(std::move(remote)) {}

Result<Cursor> Cursor::open(ReadTxn& txn, Dbi dbi) {
    if (txn.remote_) {
        if (!txn.active()) return fail(StoreErrc::failed);
        SpaceRead* read = txn.remote_.get();
        return Cursor(std::make_unique<SpaceCursor>(
            [read](std::uint32_t table, ByteView from, std::size_t max) { return read->scan(table, from, max); },
            dbi.id, read->keep().next_list()));
    }
    return open(txn.active() ? txn.raw() : nullptr, dbi);
}

Result<Cursor> Cursor::open(WriteTxn& txn, Dbi dbi) {
    if (txn.remote_) {
        SpaceWrite* write = txn.remote_.get();
        return Cursor(std::make_unique<SpaceCursor>(
            [write](std::uint32_t table, ByteView from, std::size_t max) { return write->scan(table, from, max); },
            dbi.id, write->keep().next_list()));
    }
    return open(txn.raw(), dbi);
}

Result<Cursor> Cursor::open(MDB_txn* txn, Dbi dbi) {
    if (txn == nullptr) return fail(StoreErrc::failed);
    MDB_cursor* cursor = nullptr;
    if (int rc = mdb_cursor_open(txn, dbi.id, &cursor); rc != 0) return fail(lmdb_error(rc));
    return Cursor(cursor);
}

Cursor::~Cursor() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

Result<std::optional<Entry>> Cursor::step(const Bytes* key, Op op) {
    if (remote_) {
        Result<std::optional<KeyValue*>> r = std::optional<KeyValue*>{};
        switch (op) {
            case Op::first: r = remote_->first(); break;
            case Op::next: r = remote_->next(); break;
            case Op::last: r = remote_->last(); break;
            case Op::prev: r = remote_->prev(); break;
            case Op::seek: r = remote_->seek(*key); break;
        }
        if (!r) return fail(r.error());
        if (!*r) return std::optional<Entry>{};
        return std::optional<Entry>{Entry{(**r)->key, (**r)->value}};
    }
    MDB_cursor_op mdb_op = MDB_FIRST;
    switch (op) {
        case Op::first: mdb_op = MDB_FIRST; break;
        case Op::next: mdb_op = MDB_NEXT; break;
        case Op::last: mdb_op = MDB_LAST; break;
        case Op::prev: mdb_op = MDB_PREV; break;
        case Op::seek: mdb_op = MDB_SET_RANGE; break;
    }
    MDB_val k = key ? to_val(*key) : MDB_val{};
    MDB_val v{};
    const int rc = mdb_cursor_get(cursor_, &k, &v, mdb_op);
    if (rc == MDB_NOTFOUND) return std::optional<Entry>{};
    if (rc != 0) return fail(lmdb_error(rc));
    return std::optional<Entry>{Entry{from_val(k), from_val(v)}};
}

}  // namespace vmx::store
