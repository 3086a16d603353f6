#include "store/errc.h"

#include <lmdb.h>

#include <cerrno>
#include <string>

namespace vmx::store {
namespace {

class StoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.store"; }
    std::string message(int value) const override {
        switch (static_cast<StoreErrc>(value)) {
            case StoreErrc::ok: return "ok";
            case StoreErrc::map_full: return "store map full (at store.map_mib_max)";
            case StoreErrc::disk_full: return "disk full";
            case StoreErrc::not_found: return "not found";
            case StoreErrc::corrupt: return "store file corrupt";
            case StoreErrc::io_error: return "I/O error";
            case StoreErrc::closed: return "closed";
            case StoreErrc::busy: return "busy";
            case StoreErrc::failed: return "unusable after an earlier error";
            case StoreErrc::not_initialised: return "store not initialised (run vaultmx init)";
            case StoreErrc::layout_mismatch: return "store layout differs from its metadata";
            case StoreErrc::queue_full: return "store lane queue full";
            case StoreErrc::invalid_request: return "invalid store request";
            case StoreErrc::over_quota: return "mailbox over quota";
            case StoreErrc::conflict: return "changed meanwhile (an expectation failed; nothing written)";
            case StoreErrc::lease_busy: return "held by another node";
            case StoreErrc::unavailable: return "storage cluster unavailable";
        }
        return "unknown store error";
    }
};

class LmdbCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "lmdb"; }
    std::string message(int value) const override { return mdb_strerror(value); }
};

}  // namespace

const std::error_category& store_category() noexcept {
    static const StoreCategory category;
    return category;
}

const std::error_category& lmdb_category() noexcept {
    static const LmdbCategory category;
    return category;
}

std::error_code lmdb_error(int rc) noexcept {
    switch (rc) {
        case MDB_MAP_FULL: return StoreErrc::map_full;
        case MDB_NOTFOUND: return StoreErrc::not_found;
        case ENOSPC:
        case EDQUOT:
        case EFBIG: return StoreErrc::disk_full;  // EFBIG: RLIMIT_FSIZE or the file system's limit
        case EIO: return StoreErrc::io_error;
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID: return StoreErrc::corrupt;
        case MDB_READERS_FULL:
        case MDB_BAD_RSLOT: return StoreErrc::busy;
        default: break;
    }
    if (rc > 0) return {rc, std::system_category()};
    return {rc, lmdb_category()};
}

}  // namespace vmx::store
