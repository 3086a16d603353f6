// The [store] section of the configuration, as the store layer sees it: a plain value, any thread.
// Kind paths are relative to [paths] data unless absolute. Map sizes are in MiB (LMDB maps are
// page-sized anyway, and the config table stores 32-bit numbers). `segments` applies only at init:
// afterwards the count recorded in the data folder's `meta` wins.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace vmx::store {

// The numbers, apart from the paths so that the config table can check its defaults at compile time.
struct StoreSizing {
    std::uint32_t segments = 16;             // 1..4096, used by `vaultmx init` only
    std::uint32_t mail_map_mib = 1024;       // initial map of each mail environment
    std::uint32_t queue_map_mib = 256;       // ... of each smtp-in / smtp-out environment
    std::uint32_t temp_map_mib = 256;        // ... of each temp environment
    std::uint32_t global_map_mib = 64;       // ... of directory, keys, audit
    std::uint32_t map_mib_max = 65536;       // growth limit of every environment (64 GiB)
    std::uint32_t temp_ttl_s = 86400;        // lifetime of a temp record (spools, exports)
    std::uint32_t trash_retention_days = 14; // deleted mail stays restorable this long
    std::uint32_t sweep_interval_s = 300;    // how often each shard sweeps expired temp records and trash
    std::uint32_t delivery_batch_ms = 10;    // mailbox appends of delivery gather this long per shard (0: none)
    std::uint32_t login_history_days = 400;  // login attempts are kept this long
    std::uint32_t lane_queue_capacity = 4096;      // power of two: a shard's lane requests in flight at most
    std::uint32_t lane_batch_requests_max = 4096;  // requests in one group commit at most
    std::uint32_t lane_batch_mib_max = 256;        // and their bytes (bounds a transaction's dirty pages)
};

class Space;
// Opens (creating when absent) the space of that name in the shared store (store/rados_layout.h).
using SpaceOpener = std::function<Result<std::unique_ptr<Space>>(const std::string& name)>;

struct StoreOptions {
    StoreSizing sizing;
    std::string mail_path = "mail";          // per-segment `mail` environments
    std::string temp_path = "temp";          // per-segment `temp`
    std::string smtp_in_path = "smtp-in";    // per-segment `smtp-in` queue
    std::string smtp_out_path = "smtp-out";  // per-segment `smtp-out` queue
    // Set: the store is shared by several nodes ([store] backend = "rados"): the global
    // environments and every segment's mail and temp live in its spaces; the queues stay in the
    // node's own folders. Unset: everything is LMDB under the data folder.
    SpaceOpener shared_spaces;
};

}  // namespace vmx::store
