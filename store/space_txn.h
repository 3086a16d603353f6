// Transactions over any Space (store/backend.h): what Env, ReadTxn, WriteTxn and Cursor (store/lmdb.h)
// do when their environment lives in a Space instead of an LMDB file, so every store above them runs
// unchanged on RADOS. LMDB environments keep LMDB's own transactions (no copies, no overlay).
//
// - SpaceRead (a ReadTxn): reads the latest committed state at each call (Space::latest), so a
//   reader never fails because a writer committed meanwhile; values stay valid until the
//   transaction is reset or ends, as LMDB's do.
// - SpaceWrite (a WriteTxn): changes wait in an overlay (read back by get and by cursors) and go to
//   the space as ONE batch at commit, atomic. Every key the transaction read with get is guarded:
//   the batch expects it unchanged (its value, or its absence), so a concurrent writer's change to
//   it makes the commit fail with StoreErrc::conflict and nothing is written. Cursor walks are not
//   guarded (a walk may see entries another writer adds meanwhile, or miss them); the segments'
//   single writer (a lease) is what keeps walks in writes exact.
// - SpaceCursor: walks pages of a table (through the overlay for a write), forwards; last() and
//   prev() read the whole table first (RADOS lists omap forwards only): fine for short tables. The
//   entries it returns are kept by its transaction, so they stay valid after the cursor ends, until
//   the transaction is reset or ends, as LMDB's do.
// Threads: one transaction and its cursors belong to one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "store/backend.h"

namespace vmx::store {

// One table's view as a cursor sees it: entries >= from, in key order, at most max.
using ScanFn = std::function<Result<std::vector<KeyValue>>(std::uint32_t table, ByteView from, std::size_t max)>;

// What a transaction keeps of its cursors' entries: one list per cursor, never moved.
class CursorKeep {
public:
    std::deque<KeyValue>& next_list() { return *lists_.emplace_back(std::make_unique<std::deque<KeyValue>>()); }
    void clear() noexcept { lists_.clear(); }

private:
    std::deque<std::unique_ptr<std::deque<KeyValue>>> lists_;
};

class SpaceRead {
public:
    static Result<std::unique_ptr<SpaceRead>> begin(Space& space);
    // The value (valid until release() or the end), or not_found.
    Result<ByteView> get(std::uint32_t table, ByteView key);
    Result<std::vector<KeyValue>> scan(std::uint32_t table, ByteView from, std::size_t max);
    void release() noexcept {
        held_.clear();
        keep_.clear();
    }
    CursorKeep& keep() noexcept { return keep_; }

private:
    explicit SpaceRead(std::unique_ptr<Snapshot> view) : view_(std::move(view)) {}
    std::unique_ptr<Snapshot> view_;
    std::deque<ByteString> held_;
    CursorKeep keep_;
};

class SpaceWrite {
public:
    static Result<std::unique_ptr<SpaceWrite>> begin(Space& space);
    Result<ByteView> get(std::uint32_t table, ByteView key);
    // no_overwrite: conflict when the key exists (the transaction stays usable).
    Result<void> put(std::uint32_t table, ByteView key, ByteView value, bool no_overwrite);
    Result<bool> erase(std::uint32_t table, ByteView key);
    // The table as this transaction sees it (its own changes applied).
    Result<std::vector<KeyValue>> scan(std::uint32_t table, ByteView from, std::size_t max);
    Result<void> commit();
    CursorKeep& keep() noexcept { return keep_; }

private:
    using Slot = std::pair<std::uint32_t, ByteString>;
    SpaceWrite(Space& space, std::unique_ptr<Snapshot> view) : space_(space), view_(std::move(view)) {}
    Result<std::optional<ByteString>> read_through(std::uint32_t table, ByteView key);

    Space& space_;
    std::unique_ptr<Snapshot> view_;
    std::map<Slot, std::optional<ByteString>> overlay_;   // nothing: erased here
    std::map<Slot, std::optional<ByteString>> observed_;  // what get saw in the space, first time
    Batch batch_;
    std::deque<ByteString> held_;
    CursorKeep keep_;
};

class SpaceCursor {
public:
    // `entries` outlives the cursor (CursorKeep of its transaction).
    SpaceCursor(ScanFn scan, std::uint32_t table, std::deque<KeyValue>& entries)
        : scan_(std::move(scan)), table_(table), entries_(entries) {}
    Result<std::optional<KeyValue*>> first() { return seek({}); }
    Result<std::optional<KeyValue*>> seek(ByteView key);
    Result<std::optional<KeyValue*>> next();
    Result<std::optional<KeyValue*>> last();
    Result<std::optional<KeyValue*>> prev();

    static constexpr std::size_t page_entries = 32;

private:
    Result<std::optional<KeyValue*>> load_from(ByteString from, bool inclusive);
    Result<void> load_all();

    ScanFn scan_;
    std::uint32_t table_;
    std::deque<KeyValue>& entries_;  // every entry fetched, kept by the transaction
    std::size_t pos_ = 0;           // index into entries_ of the current entry
    std::size_t page_begin_ = 0;    // where the current page starts in entries_
    bool page_last_ = false;        // the current page reached the table's end
    bool positioned_ = false;
    bool whole_ = false;            // entries_ holds the whole table (after last())
};

}  // namespace vmx::store
