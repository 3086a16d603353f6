// The trash purge: messages deleted longer ago than [store] trash_retention_days are removed for
// good. Each pass walks a bounded number of mailboxes of the segments this shard owns (one cursor
// seek per mailbox, resuming where the last pass stopped), reads each mailbox's state (opening a
// sealed record needs no scope), and for a mailbox with trash asks MailboxWrites to purge it under
// the user's scope. Shard thread only.
#pragma once

#include <cstdint>

#include "appliance/directory/directory.h"
#include "appliance/mailstore/mailbox_writes.h"
#include "appliance/mailstore/shard_store.h"

namespace vmx {

struct TrashPurgeStats {
    std::uint64_t mailboxes_seen = 0;
    std::uint64_t purges_started = 0;
    std::uint64_t messages_purged = 0;
};

class TrashPurge {
public:
    TrashPurge(ShardStore& store, MailboxWrites& writes, const Directory& directory, std::int64_t retention_s)
        : store_(store), writes_(writes), directory_(directory), retention_s_(retention_s) {}

    // Looks at up to mailboxes_max mailboxes; returns how many it looked at.
    std::size_t run(std::int64_t now_unix, std::size_t mailboxes_max);
    const TrashPurgeStats& stats() const noexcept { return stats_; }

private:
    void consider(std::uint32_t segment, std::uint64_t user_id, std::int64_t now_unix);

    ShardStore& store_;
    MailboxWrites& writes_;
    const Directory& directory_;
    std::int64_t retention_s_;
    std::size_t segment_index_ = 0;  // position in the owned segments
    std::uint64_t next_user_ = 0;    // resume point inside that segment
    TrashPurgeStats stats_;
};

}  // namespace vmx
