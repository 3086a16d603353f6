// The portal's staged exports on one shard ("prepare, then download"), for the mailboxes of the
// segments it owns: preparations wait in a queue and run one at a time, each in steps. A step reads
// one piece of mboxrd (MailboxExport::fill, export_piece_bytes), seals it as a part and hands it to
// the lane; the next step starts once that write is durable, after a turn of the loop. So a step
// holds the shard for one piece's reads and sealing, memory holds one piece, and the lane one write
// of the export at a time. After the last part the manifest is written, and the export is ready
// (records: mailstore/staged_export.h); every record expires [store] temp_ttl_s after the start.
// Before its first part a preparation erases the user's earlier export (at most one per user, erased
// in lane tasks of erase_records_max records). A prepare for a user whose preparation waits or runs
// replaces it (a running one stops after its write in flight: the next preparation starts only
// then, so its erase comes after that write); a discard does the same and erases.
// Preparing and failed live here only: a restart forgets them (the user prepares again; the parts
// of a cut preparation expire). Ready is the manifest in the store, which a restart keeps.
// Limits: one preparation running per shard; one waiting per user (sessions bound the users who
// ask); a failure is remembered for the temp store's lifetime at most. Shard thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "appliance/mailstore/mailbox_export.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/staged_export.h"
#include "core/message.h"
#include "core/result.h"
#include "core/shard.h"
#include "store/mailbox.h"

namespace vmx {

enum class StagedState : std::uint8_t { none, preparing, ready, failed };

struct StagedStatus {
    StagedState state = StagedState::none;
    std::uint64_t export_id = 0;    // ready: the manifest's id, which a download names
    std::uint64_t bytes = 0;        // ready: the size; preparing: written so far
    std::uint64_t messages = 0;     // ready: in it; preparing: so far
    std::uint32_t parts = 0;        // ready
    std::int64_t expires_unix = 0;  // ready
    bool trash = false;             // ready: the deleted mail is in it
    std::string error;              // failed: why, in words for the user
};

enum class StagedExportOp : std::uint8_t { prepare, status, read, discard };

// control -> the mailbox's owner shard; answered by reply with the same payload filled in.
struct StagedExportCall final : MessagePayload {
    StagedExportOp op = StagedExportOp::status;
    store::MailboxRef box;
    ExportTrash trash = ExportTrash::exclude;  // prepare
    std::uint64_t export_id = 0;               // read
    std::uint32_t part = 0;                    // read: the index in the manifest
    StagedStatus status;                       // status; prepare: preparing
    std::string bytes;                         // read: the part
    std::error_code error;                     // any: why it could not be done
};

struct ExportStagingOptions {
    std::size_t erase_records_max = 4096;    // records one lane task erases
    std::function<std::int64_t()> now_unix;  // empty: the wall clock
};

class ExportStaging {
public:
    using Answer = std::function<void(std::unique_ptr<StagedExportCall>)>;

    ExportStaging(Shard& shard, ShardStore& store, ExportStagingOptions options);
    ExportStaging(const ExportStaging&) = delete;
    ExportStaging& operator=(const ExportStaging&) = delete;

    // Runs a call's op and answers it with the call filled in (now, or after a lane write).
    void on_call(std::unique_ptr<StagedExportCall> call, Answer answer);

    // Queues the user's preparation, replacing one that waits or runs.
    void prepare(const store::MailboxRef& box, ExportTrash trash);
    Result<StagedStatus> status(const store::MailboxRef& box);
    Result<std::string> read(const store::MailboxRef& box, std::uint64_t export_id, std::uint32_t part);
    // Stops the user's preparation and erases every record of the user's exports.
    void discard(const store::MailboxRef& box, std::function<void(std::error_code)> done);

    std::size_t waiting() const noexcept { return waiting_.size(); }
    bool running() const noexcept { return running_ != nullptr; }

private:
    struct Preparation {
        store::MailboxRef box;
        ExportTrash trash = ExportTrash::exclude;
        std::unique_ptr<MailboxExport> reader;  // from the start on
        StagedManifest manifest;                // the parts so far
        std::int64_t expires_unix = 0;
        bool cancelled = false;                 // replaced or discarded: stop after the write in flight
    };
    struct Failure {
        std::string error;
        std::int64_t forget_unix = 0;  // when the export would have expired
    };

    using Erased = std::function<void(std::error_code, std::uint64_t records)>;

    void start_next();
    void erase(const store::MailboxRef& box, Erased done, std::uint64_t erased_before = 0);
    void step();
    void write_part(std::string_view piece);
    void write_manifest();
    void failed(std::string_view what, std::error_code error);
    void finish();
    bool stopped();  // the running one was cancelled: it ends here
    std::int64_t now_unix() const;

    Shard& shard_;
    ShardStore& store_;
    const ExportStagingOptions options_;
    std::deque<Preparation> waiting_;
    std::unique_ptr<Preparation> running_;
    std::unordered_map<std::uint64_t, Failure> failures_;  // by user id
};

}  // namespace vmx
