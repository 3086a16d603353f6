// The trash purge: messages deleted longer ago than [store] trash_retention_days are removed for
// good. A SegmentWalk (segment_walk.h) over the segments this shard owns, every sweep interval:
// each step takes a page of mailboxes (one cursor seek each, resuming after the last one), reads
// each mailbox's state (opening a sealed record needs no scope), and for a mailbox with trash asks
// MailboxWrites to purge it under the user's scope. On a store shared by nodes a step's reads (the
// page, the states, the accounts) run on a store reader, and the step finishes when it answers.
// Shard thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "appliance/directory/directory.h"
#include "appliance/jobs/segment_walk.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/mailbox_writes.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"

namespace vmx {

struct TrashPurgeOptions {
    std::int64_t retention_s = std::int64_t{14} * 86400;
    std::uint64_t interval_ms = 300'000;       // between passes (0: passes only when asked)
    std::size_t mailboxes_per_step = 1000;     // looked at in one step, between two turns of the loop
    std::function<std::int64_t()> now_unix;    // empty: the wall clock
};

struct TrashPurgeStats {
    std::uint64_t mailboxes_seen = 0;
    std::uint64_t purges_started = 0;
    std::uint64_t messages_purged = 0;
    std::uint64_t passes = 0;
};

class TrashPurge {
public:
    // `reads`: a shared store's readers, which read each step; null: the steps read on this shard.
    TrashPurge(ShardStore& store, MailboxWrites& writes, const Directory& directory, TrashPurgeOptions options,
               ShardReads* reads = nullptr);
    TrashPurge(const TrashPurge&) = delete;
    TrashPurge& operator=(const TrashPurge&) = delete;

    // A pass every interval_ms from now on.
    void start() { walk_.start(); }
    // A pass now unless one is running; its first step (the first owned segment's first page) runs
    // before this returns.
    void run_pass() { walk_.run_pass(); }
    const TrashPurgeStats& stats() const noexcept { return stats_; }

private:
    using Walk = SegmentWalk<std::uint64_t>;  // the position: the next user id to look at
    // What a step read: the mailboxes with trash (under their users' scopes), and where the walk goes on.
    struct Page {
        std::vector<store::MailboxRef> with_trash;
        std::size_t seen = 0;
        std::optional<std::uint64_t> next;  // none: the segment is done
    };
    static Result<Page> read_page(const Directory& directory, const MailStoreView& view, const crypto::KeySet& keys,
                                  std::uint32_t segment, std::uint64_t from, std::size_t max);
    void step(std::uint32_t segment, const std::optional<std::uint64_t>& from, const Walk::StepDone& done);
    void purge(std::uint32_t segment, Result<Page> page, const Walk::StepDone& done);
    std::int64_t now_unix() const;

    ShardStore& store_;
    MailboxWrites& writes_;
    const Directory& directory_;
    const TrashPurgeOptions options_;
    ShardReads* reads_;
    std::int64_t pass_now_unix_ = 0;  // "now" for the whole pass
    TrashPurgeStats stats_;
    Walk walk_;  // last: its timer callbacks reach the members above
};

}  // namespace vmx
