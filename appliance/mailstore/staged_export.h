// A mailbox staged as mboxrd in the temp store (the portal's "prepare, then download"): the records,
// and their reads and writes. The preparation that writes them step by step is jobs/export_staging.h.
// Records, in the temp store of the mailbox's segment, owner = the user's id, each sealed under the
// mailbox's scope (the user's account key), so the closure's crypto-shredding reaches them too:
//   kind 2, a part: one piece of the mboxrd as MailboxExport::fill gives it (export_piece_bytes, a
//     little more at most), far below a temp record's value_bytes_max; written in order.
//   kind 1, the manifest: written last, once every part is durable: "vmx-staged-export" u8 version (1)
//     u8 trash (1: the deleted mail follows the live) u64 messages u64 bytes u64 created_unix u32 parts,
//     then per part u64 record id and u32 bytes; numbers little-endian.
// Every record of one export has the same expiry, fixed when its preparation starts. The manifest is
// the export: its id names it, and without one there is none, whatever parts remain (a cut
// preparation's; they expire). A user has at most one manifest: a new preparation and a discard
// first erase every record of these two kinds that the user owns (erase_staged_task).
// Threads: the reads take their own read transactions (the owner shard calls them); the writes are
// sealed on the segment's owner shard (the temp store's id counter is its) and go through its lane.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/mailstore/shard_store.h"
#include "core/result.h"
#include "store/lane.h"
#include "store/mailbox.h"
#include "store/temp_store.h"

namespace vmx {

inline constexpr std::uint8_t staged_manifest_kind = 1;
inline constexpr std::uint8_t staged_part_kind = 2;

struct StagedPart {
    std::uint64_t id = 0;  // the part's temp record
    std::uint32_t bytes = 0;
};

struct StagedManifest {
    bool trash = false;  // the deleted mail is in it, after the live
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;  // the parts' bytes together
    std::int64_t created_unix = 0;
    std::vector<StagedPart> parts;
};

std::vector<std::uint8_t> encode_manifest(const StagedManifest& manifest);
// nullopt for anything but a whole manifest whose part sizes add up to its bytes.
std::optional<StagedManifest> decode_manifest(std::span<const std::uint8_t> bytes);

struct StagedExport {
    std::uint64_t id = 0;  // the manifest's record id
    std::int64_t expires_unix = 0;
    StagedManifest manifest;
};

// The user's staged export, unexpired at now_unix; nullopt when there is none. Walks the keys of the
// user's temp records (no part is opened) and opens the newest manifest.
Result<std::optional<StagedExport>> find_staged_export(ShardStore& store, const store::MailboxRef& box,
                                                       std::int64_t now_unix);

// Part `index` of the export `export_id` of this mailbox's user: not_found when that export is gone
// (replaced, discarded, expired) or is no export, invalid_request for an index past its parts,
// corrupt for a part that is not the size the manifest says; crypto errors as TempStore::get.
Result<std::string> read_staged_part(ShardStore& store, const store::MailboxRef& box, std::uint64_t export_id,
                                     std::uint32_t index, std::int64_t now_unix);

// A part or the manifest, sealed for the lane (owner shard of box.segment).
Result<store::WriteRequest> staged_part_write(ShardStore& store, const store::MailboxRef& box, std::string_view bytes,
                                              std::int64_t now_unix, std::int64_t expires_unix,
                                              store::TempRecordRef& written);
Result<store::WriteRequest> staged_manifest_write(ShardStore& store, const store::MailboxRef& box,
                                                  const StagedManifest& manifest, std::int64_t now_unix,
                                                  std::int64_t expires_unix);

// A lane task that erases up to records_max of the user's export records (manifests and parts) and
// returns how many; the caller runs it again while it returns records_max.
store::WriteRequest erase_staged_write(ShardStore& store, const store::MailboxRef& box, std::size_t records_max);

}  // namespace vmx
