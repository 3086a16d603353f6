// The smtp-in and smtp-out queues of one segment, each in its own environment (store/layout.h), and
// the delivery markers that make the hand-off from a queue to mailboxes exactly-once.
// Threads: a Queue belongs to the shard that owns its segment (the environment's one writer): that
// shard allocates entry ids and submits the write ops to its store lane (or, in tools and tests,
// applies them in its own WriteTxn). Reads (list, load, recover) take any ReadTxn, on any thread.
//
// Records (store/record_key.h), database "queue": owner 0 (the queue), object = entry id,
//   part 0 = the body, part 1 = the envelope (store/envelope.h), each one sealed value whose
//   identity is {smtp_in|smtp_out, segment, 0, (id << 4) | part}: a body cannot pass for an
//   envelope, nor an entry for another entry or another segment's.
// Database "queue_counters": "next_entry_id" -> u64 LE. Entry ids start at 1 and only grow (an id
//   is never reused, even after its entry is removed or its write failed), which the delivery
//   markers rely on.
// Scope: queue entries are sealed under the appliance scope {ScopeKind::appliance, 0}, not under a
//   recipient's scope: one entry holds mail for several users (possibly of different plans, or
//   remote ones), the queue is transient, and it must be readable by the deliverer without a
//   per-recipient key. Each recipient's own scope applies once the message is in their mailbox;
//   crypto-shredding a user therefore leaves their queued (not yet delivered) mail to expire with
//   the queue, which is short-lived by design.
//
// Exactly-once hand-off, smtp-in entry E (queue kind Q, segment S) to local recipient index i:
//   1. The shard that owns the recipient's mail segment runs ONE mail-environment transaction:
//        if (!already_delivered(txn, markers, {Q, S, E, i})) {
//            mailbox append (body + metadata) in txn;
//            mark_delivered(txn, markers, {Q, S, E, i}, now, appended message id);
//        }
//        commit (durable)
//      Through the store lane the same holds with one WriteRequest: its ops (the append's puts and
//      marker_put_op()) commit in one transaction; the check before building the request is valid
//      because the shard is that environment's only writer: it checks already_delivered() in a
//      ReadTxn AND its own set of hand-offs submitted but not yet reported, and drops the entry
//      from that set when the lane reports the outcome.
//   2. Once (1) is durable, the queue's owner marks recipient i `delivered` (update) in the queue
//      environment, and when the envelope is done() removes the entry.
//   3. After the removal is durable, remove_markers() for E in each mail environment that got a
//      marker (best effort). expire_markers() is the backstop for a crash between 2 and 3: markers
//      are never needed once their entry is gone, and since entry ids are never reused a stale
//      marker can only waste space; expire them well after the queue's longest lifetime.
//   A crash between 1 and 2 leaves the recipient pending in the queue; recover() at start-up lists
//   it, the hand-off is redone, and step 1 finds the marker and appends nothing: the message is in
//   the mailbox exactly once. The append and the marker can never be split, because they commit
//   in the same transaction; marking a recipient delivered in the queue before (1) is durable would
//   lose mail, so (2) strictly waits for (1)'s report.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/envelope.h"
#include "store/lane.h"
#include "store/lmdb.h"

namespace vmx::store {

enum class QueueKind : std::uint8_t { smtp_in = 1, smtp_out = 2 };

inline constexpr crypto::Scope queue_scope{crypto::ScopeKind::appliance, 0};
inline constexpr std::uint64_t queue_owner = 0;
inline constexpr std::uint8_t queue_part_body = 0;
inline constexpr std::uint8_t queue_part_envelope = 1;

struct QueueLimits {
    std::size_t body_bytes_max = std::size_t{64} << 20;  // above the largest SIZE the SMTP side offers
    std::size_t list_max = 100000;                       // entries one list()/recover() call returns
};

// Everything one enqueue writes, for one WriteRequest on the store lane.
struct PreparedEnqueue {
    std::uint64_t entry_id = 0;
    std::vector<WriteOp> ops;
};

struct QueuedEntry {
    std::uint64_t id = 0;
    Envelope envelope;
};

class Queue {
public:
    // Opens (creating) the queue's databases in `env` and reads the next entry id. Writer thread,
    // before the lane starts. `env` must outlive the Queue.
    static Result<Queue> open(Env& env, QueueKind kind, std::uint32_t segment, const QueueLimits& limits = {});

    // The ops that store a new entry (body, envelope, the id counter), under a fresh id. The id is
    // taken even if the request later fails: ids are never reused. invalid_request for an envelope
    // over its limits or a body over body_bytes_max; crypto errors from sealing.
    Result<PreparedEnqueue> prepare_enqueue(const crypto::KeySet& keys, const Envelope& envelope,
                                            Bytes body);
    // The op that replaces the envelope of an existing entry (recipient states changed).
    Result<std::vector<WriteOp>> prepare_update(const crypto::KeySet& keys, std::uint64_t id,
                                                const Envelope& envelope) const;
    // The ops that remove an entry (body and envelope).
    std::vector<WriteOp> prepare_remove(std::uint64_t id) const;

    // Update and remove ops are produced only by the queue's owner shard, which forgets an entry
    // when it submits its removal, so no update op follows a remove op of the same id (a lane op
    // is a blind put and would otherwise bring back a body-less envelope). update() checks it.

    // The same, applied in the caller's transaction (tools, tests, the control thread).
    Result<std::uint64_t> enqueue(WriteTxn& txn, const crypto::KeySet& keys, const Envelope& envelope, Bytes body);
    Result<void> update(WriteTxn& txn, const crypto::KeySet& keys, std::uint64_t id, const Envelope& envelope);
    Result<void> remove(WriteTxn& txn, std::uint64_t id);

    // Entry ids greater than after_id, ascending, at most `max` (and list_max).
    template <class Txn>
    Result<std::vector<std::uint64_t>> list(Txn& txn, std::uint64_t after_id, std::size_t max) const;
    // not_found for an unknown id; a crypto error (authentication_failed...) for a tampered or
    // moved record; corrupt for an envelope that opens but does not decode.
    template <class Txn>
    Result<Envelope> load_envelope(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const;
    template <class Txn>
    Result<std::vector<std::uint8_t>> load_body(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const;
    // Whether the entry is still queued (its envelope is there); opens nothing.
    template <class Txn>
    Result<bool> contains(Txn& txn, std::uint64_t id) const;

    Dbi records() const noexcept { return records_; }
    QueueKind kind() const noexcept { return kind_; }
    std::uint32_t segment() const noexcept { return segment_; }
    std::uint64_t next_id() const noexcept { return next_id_; }
    const QueueLimits& limits() const noexcept { return limits_; }

private:
    Queue(QueueKind kind, std::uint32_t segment, const QueueLimits& limits, Dbi records, Dbi counters)
        : kind_(kind), segment_(segment), limits_(limits), records_(records), counters_(counters) {}

    QueueKind kind_;
    std::uint32_t segment_;
    QueueLimits limits_;
    Dbi records_;
    Dbi counters_;
    std::uint64_t next_id_ = 1;
};

// Start-up recovery: every entry (id > after_id, at most `max` looked at) with a recipient not yet
// done (pending or failed_temp), so that its hand-offs are redone. An entry whose envelope fails to
// open or decode (tampered, moved, key destroyed) is listed in `failed` and left in place: the
// caller counts it and raises an alarm; it is never delivered and never silently dropped.
struct RecoveryBatch {
    std::vector<QueuedEntry> entries;
    std::vector<std::pair<std::uint64_t, std::error_code>> failed;
    std::uint64_t last_id = 0;  // the last id looked at: pass as after_id for the next batch
    bool complete = false;      // no entry after last_id
};
Result<RecoveryBatch> recover(const Queue& queue, ReadTxn& txn, const crypto::KeySet& keys,
                              std::uint64_t after_id = 0, std::size_t max = 1000);

// ---- Delivery markers: live in the MAIL environment of the recipient's segment -------------------
// Database "delivered": key = queue kind (1) | node << 12 | queue segment (4 BE) | entry id (8 BE) |
// recipient index (2 BE); value = delivered unix time (8 LE) | mailbox message id (8 LE). Ids and times only,
// no customer data, so neither key nor value is sealed (and the rewrap job never walks it).
struct DeliveryMarker {
    QueueKind queue = QueueKind::smtp_in;
    std::uint32_t segment = 0;
    std::uint64_t entry_id = 0;
    std::uint16_t recipient = 0;  // index into the envelope's recipients
    // The node whose queue held the entry: each node of a shared store has queues of its own with
    // the same ids, so the node keeps their markers apart (0 on one box; below 2^20).
    std::uint32_t node = 0;
    friend bool operator==(const DeliveryMarker&, const DeliveryMarker&) = default;
    friend auto operator<=>(const DeliveryMarker&, const DeliveryMarker&) = default;  // ordered sets of hand-offs
};

struct DeliveryMarkers {
    Dbi dbi;
    // Opens (creating) the database in a mail environment. Writer thread, before the lane starts.
    static Result<DeliveryMarkers> open(Env& mail_env);
};

inline constexpr std::size_t delivery_marker_key_bytes = 15;

template <class Txn>
Result<bool> already_delivered(Txn& mail_txn, const DeliveryMarkers& markers, const DeliveryMarker& marker);
// Records the hand-off; must be in the same transaction as the mailbox append.
Result<void> mark_delivered(WriteTxn& mail_txn, const DeliveryMarkers& markers, const DeliveryMarker& marker,
                            std::int64_t now_unix, std::uint64_t mailbox_message_id);
// The same as a lane op (put into the append's WriteRequest).
WriteOp marker_put_op(const DeliveryMarkers& markers, const DeliveryMarker& marker, std::int64_t now_unix,
                      std::uint64_t mailbox_message_id);
// Removes every marker of one queue entry (after the entry's removal is durable); how many.
Result<std::size_t> remove_markers(WriteTxn& mail_txn, const DeliveryMarkers& markers, QueueKind queue,
                                   std::uint32_t segment, std::uint64_t entry_id, std::uint32_t node = 0);
// The markers from `from` on, in key order, at most `max` (for the sweep that removes the markers of
// entries that are gone: the caller checks each against its queue). `resume` is where the next call
// starts; nullopt when the end was reached.
struct MarkerPage {
    std::vector<DeliveryMarker> markers;
    std::optional<DeliveryMarker> resume;
};
template <class Txn>
Result<MarkerPage> list_markers(Txn& mail_txn, const DeliveryMarkers& markers, std::optional<DeliveryMarker> from,
                                std::size_t max);
// The lane op that removes one marker (nothing when it is already gone).
WriteOp marker_erase_op(const DeliveryMarkers& markers, const DeliveryMarker& marker);
// Removes markers delivered before cutoff_unix, looking at most at `scanned_max` markers from
// `from` on; resume with the returned position (nullopt: the end was reached).
struct MarkerSweep {
    std::size_t removed = 0;
    std::optional<DeliveryMarker> resume;
};
Result<MarkerSweep> expire_markers(WriteTxn& mail_txn, const DeliveryMarkers& markers, std::int64_t cutoff_unix,
                                   std::optional<DeliveryMarker> from, std::size_t scanned_max);

}  // namespace vmx::store
