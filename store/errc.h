// Error codes of the store layer (StoreErrc) and the category of LMDB's own return codes. Any thread.
// lmdb_error() turns an LMDB or errno return into the code callers act on: the conditions a caller
// must tell apart (map full, disk full, not found, corruption, I/O) become StoreErrc values; the rest
// keep LMDB's code in lmdb_category() (message from mdb_strerror) or errno in system_category().
#pragma once

#include <system_error>

namespace vmx::store {

enum class StoreErrc {
    ok = 0,
    map_full = 1,          // the environment reached its maximum map size (store.map_mib_max): 452
    disk_full = 2,         // the file system is full, over quota or over the file size limit: 452
    not_found = 3,         // no record under that key
    corrupt = 4,           // LMDB found a damaged page or file, or a store file is malformed
    io_error = 5,          // the kernel reported an I/O error (EIO)
    closed = 6,            // the environment, transaction or lane was closed or reopened since
    busy = 7,              // no reader slot free, or a transaction is already active on this thread
    failed = 8,            // an earlier error left this transaction or environment unusable
    not_initialised = 9,   // the data folder has no store metadata: run `vaultmx init`
    layout_mismatch = 10,  // the metadata or an environment is not what this build expects
    queue_full = 11,       // the lane has as many writes in flight as its queue holds
    invalid_request = 12,  // an empty or oversized key, or a write to an unknown environment
    over_quota = 13,       // the mailbox would exceed its quota: SMTP 452 4.2.2 (or 552 5.2.2)
    conflict = 14,         // a batch's expectation failed (nothing written), or a snapshot moved on
    lease_busy = 15,       // another holder's lease runs
    unavailable = 16,      // the storage cluster did not answer in time, or cannot be reached: 451
};

const std::error_category& store_category() noexcept;
// LMDB's negative return codes (MDB_KEYEXIST ... MDB_LAST_ERRCODE), with mdb_strerror's text.
const std::error_category& lmdb_category() noexcept;

inline std::error_code make_error_code(StoreErrc e) noexcept { return {static_cast<int>(e), store_category()}; }

// The error for a non-zero LMDB return value (an MDB_* code or an errno value).
std::error_code lmdb_error(int rc) noexcept;

}  // namespace vmx::store

template <>
struct std::is_error_code_enum<vmx::store::StoreErrc> : std::true_type {};
