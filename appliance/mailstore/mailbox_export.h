// A mailbox written out as mboxrd (`vaultmx user export`), piece by piece on the mailbox's owner
// shard. The export's whole state is this value: it travels to the owner shard inside a
// MailboxExportStep, comes back with the next piece, and goes again when the admin socket has
// written that piece, so no shard keeps a table of exports, a closed admin connection just drops
// the value, and at most one piece per export is ever in memory (back-pressure by the socket).
// Owner shard while in a step (fill); any thread may hold or destroy it. Reads go through the
// mailstore readers (listing, BodyPump), each body chunk in its own short read transaction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/mboxrd.h"
#include "core/message.h"
#include "core/result.h"
#include "store/mailbox.h"

namespace vmx {

// A piece of the export: at least this many bytes unless the mailbox ends first. A piece is at
// most this plus one body chunk's mboxrd form (at most 7/6 of store::body_chunk_bytes) plus a
// separator line. 1 MiB keeps one shard's step short (16 body chunks) and the socket busy; no
// admin would tune it, so it is a constant, not a setting.
inline constexpr std::size_t export_piece_bytes = std::size_t{1} << 20;

enum class ExportTrash : std::uint8_t { exclude, include };  // include: the trash after the live ones

class MailboxExport {
public:
    MailboxExport(const store::MailboxRef& box, ExportTrash trash) : box_(box), trash_(trash) {}

    // Appends mboxrd bytes to `out` until it holds at least bytes_min or the mailbox is done. The
    // first call lists the mailbox (live, then trash if asked, each by id); a message purged since
    // is skipped. On error (a message that does not open or fails its integrity check) the export
    // is over; failed_message() names the message. The owner shard, or a store reader for it (the
    // view form; `keys` as they are now).
    Result<void> fill(const MailStoreView& view, const crypto::KeySet& keys, std::string& out, std::size_t bytes_min);
    Result<void> fill(ShardStore& store, std::string& out, std::size_t bytes_min);
    bool done() const noexcept { return done_; }
    std::uint64_t failed_message() const noexcept { return current_id_; }
    std::uint64_t messages() const noexcept { return messages_; }
    std::uint64_t skipped() const noexcept { return skipped_; }
    const store::MailboxRef& box() const noexcept { return box_; }

private:
    Result<void> list(const MailStoreView& view, const crypto::KeySet& keys);
    Result<bool> open_next(const MailStoreView& view, const crypto::KeySet& keys, std::string& out);  // false: none left

    store::MailboxRef box_;
    ExportTrash trash_;
    std::optional<std::vector<store::MessageInfo>> listing_;
    std::size_t next_ = 0;                 // the next message of the listing to open
    std::optional<BodyPump> pump_;         // the message being written
    std::uint64_t current_id_ = 0;
    MboxrdWriter writer_;
    std::uint64_t messages_ = 0;
    std::uint64_t skipped_ = 0;
    bool done_ = false;
};

// control -> owner shard: the export and room for its next piece; owner shard -> control, as the
// reply: the same value with the piece filled in (or the error that ended it).
struct MailboxExportStep final : MessagePayload {
    std::unique_ptr<MailboxExport> state;
    std::string piece;
    std::error_code error;
};

}  // namespace vmx
