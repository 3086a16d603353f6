// The store's folders: where each LMDB environment of a data folder lives, the metadata that fixes
// the segment count, and the stable placement of mailboxes on segments. init() runs once from
// `vaultmx init` (control thread, before any shard); open() at daemon start. A StoreLayout is then an
// immutable value any thread may read.
//
//   <data>/meta                        "vaultmx-store" format and segment count (fixed at init), and
//                                      in a shared store this node's number
//   <data>/global/{directory,keys,audit}/    global environments
//   <kind root>/<ssss>/                per-segment environments, kind in mail, temp, smtp-in, smtp-out;
//                                      each kind root from [store] *_path (relative to <data>)
// Every folder is created with mode 0700; LMDB's files with 0600.
//
// A shared store (StoreOptions::shared_spaces, [store] backend = "rados") keeps the global
// environments and each segment's mail and temp in spaces named "global.<kind>" and
// "<kind>.<ssss>", and the metadata in the space "meta" (every node of the cluster agrees on the
// segment count through it); the queues stay in this node's folders, with the local `meta` too.
// Use open_env() for every environment, so the backend is decided here alone.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/lmdb.h"
#include "store/options.h"

namespace vmx::store {

inline constexpr std::uint32_t store_format_version = 1;
inline constexpr std::uint32_t segments_max = 4096;

enum class SegmentKind : std::uint8_t { mail, temp, smtp_in, smtp_out };
enum class GlobalKind : std::uint8_t { directory, keys, audit };
inline constexpr std::array<SegmentKind, 4> segment_kinds{SegmentKind::mail, SegmentKind::temp, SegmentKind::smtp_in,
                                                          SegmentKind::smtp_out};
inline constexpr std::array<GlobalKind, 3> global_kinds{GlobalKind::directory, GlobalKind::keys, GlobalKind::audit};

std::string_view name_of(SegmentKind kind) noexcept;  // "mail", "temp", "smtp-in", "smtp-out"
std::string_view name_of(GlobalKind kind) noexcept;   // "directory", "keys", "audit"

// The segment of a mailbox. FROZEN: changing it moves every mailbox. splitmix64's finaliser
// (Steele, Lea, Flood 2014) of the user id, modulo the count: a fixed 64-bit mix with no seed, so
// ids that differ in one bit land anywhere, and the same id lands on the same segment on every build.
std::uint32_t segment_of(std::uint64_t user_id, std::uint32_t segment_count) noexcept;
// The shard that writes a segment at run time.
inline std::uint32_t owner_shard(std::uint32_t segment, std::uint32_t shards) noexcept { return segment % shards; }

class StoreLayout {
public:
    struct InitOutcome;
    // Creates the metadata and every environment (idempotent: an initialised folder is checked as by
    // open() and kept; its recorded segment count wins over options.segments).
    static Result<InitOutcome> init(const std::string& data_dir, const StoreOptions& options);
    // The layout of an initialised folder: not_initialised without `meta`, layout_mismatch for
    // another format or a missing environment (a *_path changed since init?), corrupt for a bad meta.
    static Result<StoreLayout> open(const std::string& data_dir, const StoreOptions& options);

    std::uint32_t segments() const noexcept { return segments_; }
    // This node's number in a shared store (1.., given at init by the cluster's meta and kept in the
    // local meta); 0 for a store of its own. Its queues' delivery markers carry it.
    std::uint32_t node() const noexcept { return node_; }
    std::uint32_t format() const noexcept { return format_; }
    const std::string& data_dir() const noexcept { return data_dir_; }
    std::string root(SegmentKind kind) const;  // the kind's folder, resolved against data_dir
    std::string path(SegmentKind kind, std::uint32_t segment) const;
    std::string path(GlobalKind kind) const;
    EnvOptions env_options(SegmentKind kind) const;
    EnvOptions env_options(GlobalKind kind) const;
    // Whether that environment lives in the shared store.
    bool shared(SegmentKind kind) const noexcept;
    bool shared(GlobalKind) const noexcept { return static_cast<bool>(options_.shared_spaces); }
    // The environment, opened where it lives (its folder, or its space in the shared store).
    Result<std::unique_ptr<Env>> open_env(SegmentKind kind, std::uint32_t segment) const;
    // `access` matters for a folder only (a reader beside a serving daemon: read_shared).
    Result<std::unique_ptr<Env>> open_env(GlobalKind kind, EnvAccess access = EnvAccess::write) const;
    // The segment's space "leases.<ssss>" of a shared store, where nodes hold the claims that exclude
    // each other (the POP3 maildrop locks of its mailboxes: store/lease_keeper.h); nullptr for a
    // store of its own, where the process is the only holder and needs none.
    Result<std::unique_ptr<Space>> open_leases(std::uint32_t segment) const;

private:
    StoreLayout(std::string data_dir, const StoreOptions& options, std::uint32_t segments)
        : data_dir_(std::move(data_dir)), options_(options), segments_(segments) {}
    Result<void> check_environments() const;

    std::string data_dir_;
    StoreOptions options_;
    std::uint32_t segments_ = 0;
    std::uint32_t node_ = 0;
    std::uint32_t format_ = store_format_version;
};

struct StoreLayout::InitOutcome {
    StoreLayout layout;
    bool created = false;  // false: an existing store was found and kept
};

}  // namespace vmx::store
