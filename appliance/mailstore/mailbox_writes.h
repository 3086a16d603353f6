// Changes to the mailboxes of the segments a shard owns (appends from delivery, trash and restore
// from POP3 and the admin), through the shard's store lane. A mailbox has one lane request in flight
// at a time (store::MailboxWriter's rule); further changes wait in that mailbox's queue while other
// mailboxes share the lane's group commit. Appends waiting at the front of a queue go together as
// one request (up to append_group_max), so a mailbox that receives faster than one commit per
// message catches up instead of falling behind. A writer lives only while its mailbox has work
// queued, so idle mailboxes cost nothing. On a store shared by nodes a writer is loaded by a store
// reader (store_readers.h), which also plans the changes that read the mailbox (trash, restore,
// purge, erase); the mailbox waits meanwhile as if a change were in flight, so neither a delivery
// nor a deletion stalls the shard on the cluster. Shard thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"
#include "core/result.h"
#include "store/mailbox.h"
#include "store/queue.h"

namespace vmx {

// The outcome of one change: the message id it concerns, or the error (store::StoreErrc::over_quota,
// not_found, invalid_request, a lane error).
using MailboxDone = std::function<void(Result<std::uint64_t>)>;

struct MailboxWritesStats {
    std::uint64_t appended = 0;
    std::uint64_t trashed = 0;
    std::uint64_t restored = 0;
    std::uint64_t purged = 0;   // messages
    std::uint64_t erase_steps = 0;  // steps of closed accounts' purges
    std::uint64_t failed = 0;
    std::uint64_t lane_waits = 0;  // changes held back because the store lane was full
    std::uint64_t conflicts = 0;   // changes planned again after another node's change (shared store)
};

struct MailboxWritesOptions {
    // Delivery's appends wait this long before going to the lane, so the appends of several lane
    // turns, for every mailbox of a segment, share one durable commit. Nobody waits on them (the
    // sender had its 250 when the queue write was durable). A trash, restore or purge is never held
    // itself; one queued behind held appends of its mailbox waits for them, at most this long.
    std::uint32_t append_batch_ms = 10;
};

inline constexpr std::size_t append_group_max = 64;                  // appends in one lane request
inline constexpr std::size_t append_group_bytes_max = std::size_t{8} << 20;  // and their bodies' bytes
inline constexpr std::uint64_t lane_retry_ms = 1;  // a mailbox whose change met a full lane tries again after this

class MailboxWrites {
public:
    // `reads`: a shared store's readers, which load the writers; null: loaded on this shard.
    explicit MailboxWrites(ShardStore& store, MailboxWritesOptions options = {}, ShardReads* reads = nullptr)
        : store_(store), options_(options), reads_(reads) {}

    // Appends a body. With a marker, the marker is written in the same transaction (the exactly-once
    // hand-off of store/queue.h); the caller checked that it is not already there.
    void append(const store::MailboxRef& box, std::shared_ptr<const std::string> body, store::AppendOptions options,
                std::optional<store::DeliveryMarker> marker, MailboxDone done);
    void move_to_trash(const store::MailboxRef& box, std::uint64_t message_id, std::int64_t now_unix, MailboxDone done);
    void restore(const store::MailboxRef& box, std::uint64_t message_id, MailboxDone done);
    // Removes messages in the trash for longer than retention_s (at most messages_max); the outcome
    // carries how many were purged.
    void purge(const store::MailboxRef& box, std::int64_t now_unix, std::int64_t retention_s, MailboxDone done);
    // A closed account's purge: erases up to messages_max messages (live or trash), and the
    // mailbox's state record with the last; the outcome carries how many messages remain (0: the
    // mailbox is gone).
    void erase(const store::MailboxRef& box, std::size_t messages_max, MailboxDone done);

    // Markers of hand-offs submitted and not yet reported (part of the exactly-once check).
    bool marker_in_flight(const store::DeliveryMarker& marker) const;
    std::size_t busy_mailboxes() const noexcept { return boxes_.size(); }
    const MailboxWritesStats& stats() const noexcept { return stats_; }

private:
    enum class Kind : std::uint8_t { append, trash, restore, purge, erase };
    struct Change {
        Kind kind = Kind::append;
        std::shared_ptr<const std::string> body;
        store::AppendOptions options;
        std::optional<store::DeliveryMarker> marker;
        std::uint64_t message_id = 0;
        std::int64_t now_unix = 0;
        std::int64_t retention_s = 0;
        std::size_t messages_max = 0;  // erase
        MailboxDone done;
    };
    struct Box {
        store::MailboxRef ref;
        std::optional<store::MailboxWriter> writer;
        std::deque<Change> queue;
        bool in_flight = false;
        bool reading = false;      // a store reader holds its writer (loads it, plans): nothing else is planned
        bool batching = false;     // listed in batching_: its appends wait for the batch window
        bool batch_due = false;    // its appends waited the batch window and may go now
        bool waiting_lane = false; // the lane was full: a timer pumps it again
        std::vector<std::uint64_t> in_flight_ids;  // one per change in flight, from the queue's front
        std::uint32_t conflicts = 0;  // in a row: another node changed the mailbox meanwhile
    };
    // A change that met another node's change to the same mailbox is planned again on a freshly
    // loaded writer at once, this many times in a row at most; then it fails (and is retried later).
    static constexpr std::uint32_t conflict_retries_max = 16;

    // What planning reads of a change (no body, no callback): safe to hand to a store reader.
    struct Reading {
        Kind kind = Kind::append;
        std::uint64_t message_id = 0;
        std::int64_t now_unix = 0;
        std::int64_t retention_s = 0;
        std::size_t messages_max = 0;
    };
    static Reading reading(const Change& change);
    static Result<std::optional<store::MailboxChange>> plan_read(const MailStoreView& view, const crypto::KeySet& keys,
                                                                 const store::MailboxRef& ref,
                                                                 std::optional<store::MailboxWriter>& writer,
                                                                 const Reading& change);

    void enqueue(const store::MailboxRef& box, Change change);
    void pump(std::uint64_t user_id);
    Result<store::MailboxChange> plan(Box& box, Change& change);
    void fail_front(Box& box, std::size_t count, std::error_code error);
    void report(Change& change, std::error_code error, std::uint64_t id);
    void plan_appends(Box& box, store::MailboxChange& first, std::vector<std::uint64_t>& ids);
    void finish(std::uint64_t user_id, const store::WriteResult& result);

    bool hold_for_batch(std::uint64_t user_id, Box& box);
    void wait_for_lane(std::uint64_t user_id, Box& box);
    bool take(std::uint64_t user_id, Box& box, Result<store::MailboxChange> planned);
    void plan_off_shard(std::uint64_t user_id, Box& box);
    void planned_off_shard(std::uint64_t user_id, std::optional<store::MailboxWriter> writer,
                           Result<std::optional<store::MailboxChange>> planned);
    void release_batch();

    ShardStore& store_;
    const MailboxWritesOptions options_;
    ShardReads* reads_;
    std::vector<std::uint64_t> batching_;   // mailboxes whose appends wait for the batch window
    bool batch_scheduled_ = false;
    std::unordered_map<std::uint64_t, Box> boxes_;  // by user id; present while work is queued
    // Ordered set: a delivery checks it for every recipient, and thousands may be in flight.
    std::set<store::DeliveryMarker> markers_in_flight_;
    MailboxWritesStats stats_;
};

}  // namespace vmx
