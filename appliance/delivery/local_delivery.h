// Local delivery: an accepted message is written once to the accepting shard's smtp-in queue (the
// SMTP 250 waits for that write to be durable), then handed to the shard that owns each recipient's
// mailbox, which appends it exactly once (the delivery marker commits with the append, store/queue.h)
// and reports back; the queue entry is updated, retried later for temporary failures, and removed
// when every recipient is done. At start-up every shard re-runs the hand-offs its queues still hold,
// so a crash anywhere in between delivers each message to each recipient exactly once.
// Threads: one LocalDelivery per shard, shard thread only; shards talk through ShardCalls (a hand-off
// the owner cannot take is a temporary failure, a report is sent until taken) with payloads that
// are values or immutable bodies (shared_ptr<const std::string>). Markers of finished entries are
// removed by jobs/marker_cleanup. On a store shared by nodes the owner reads a recipient's account
// and marker on a store reader (store_readers.h); the marker counts as in flight from before that
// read until the append is reported, so a hand-off redone meanwhile waits instead of appending twice.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "appliance/directory/directory.h"
#include "appliance/common/counters.h"
#include "appliance/delivery/failed_delivery.h"
#include "appliance/delivery/retry_policy.h"
#include "appliance/mailstore/mailbox_writes.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/common/message_kinds.h"
#include "core/message.h"
#include "core/result.h"
#include "core/shard.h"
#include "store/envelope.h"

namespace vmx {

class ShardCalls;


enum class AcceptOutcome : std::uint8_t { stored, failed, full };

// Defaults as the [delivery] rows of the config table (appliance/config).
struct DeliveryOptions {
    RetryPolicy retry;                          // temporary failures: when again, when to give up
    std::uint64_t removal_batch_ms = 10;        // finished entries are removed together this often
    std::function<std::int64_t()> now_unix;     // empty: the wall clock (tests move their own)
    // A store shared by nodes: an accepted message's answer (the SMTP 250) waits until its first
    // hand-off is reported, so what a node acknowledged is in the cluster's mailboxes, readable
    // from every node, even if that node dies the next moment (only a hand-off that failed for now
    // leaves it in the node's own queue).
    bool answer_after_hand_off = false;
};

// Counters; the control thread reads them (vaultmx stats) with relaxed loads.
struct DeliveryStats {
    std::atomic<std::uint64_t> accepted{0};       // messages durably queued
    std::atomic<std::uint64_t> delivered{0};      // recipients delivered (markers written with the append)
    std::atomic<std::uint64_t> duplicates{0};     // hand-offs found already delivered (after a crash)
    std::atomic<std::uint64_t> temp_failures{0};
    std::atomic<std::uint64_t> perm_failures{0};
    std::atomic<std::uint64_t> removed{0};        // queue entries finished
    std::atomic<std::uint64_t> recovered{0};      // entries picked up again at start-up
    std::atomic<std::uint64_t> queued{0};         // entries in this shard's smtp-in queues now

    void list(CounterSnapshot& out) const {
        out.add("delivery.accepted", accepted);
        out.add("delivery.delivered", delivered);
        out.add("delivery.duplicates", duplicates);
        out.add("delivery.temp_failures", temp_failures);
        out.add("delivery.perm_failures", perm_failures);
        out.add("delivery.removed", removed);
        out.add("delivery.recovered", recovered);
        out.add("delivery.queued", queued);
    }
};

class LocalDelivery {
public:
    // Hand-offs and their reports go through `calls` (common/shard_calls.h): a hand-off the owner's
    // inbox cannot take is a temporary failure retried later; a report is sent until taken.
    // `reads`: a shared store's readers; null: the owner reads on its own thread.
    LocalDelivery(Shard& shard, ShardStore& store, MailboxWrites& writes, const Directory& directory,
                  ShardCalls& calls, DeliveryOptions options = {}, ShardReads* reads = nullptr);

    // The queue id the next accepted message will get on this shard (for its Received: header).
    std::string next_queue_id();
    // The segment whose smtp-in environment holds what this shard accepts.
    std::uint32_t queue_segment() const;
    // Writes the message to this shard's smtp-in queue; `done` runs exactly once: when it is durable
    // (stored), or not (failed), or at once when the store lane has no room (full: the client gets
    // a 4xx and tries again). Delivery to the mailboxes follows on its own.
    void accept(store::Envelope envelope, std::shared_ptr<const std::string> body,
                std::function<void(AcceptOutcome, const std::string& queue_id)> done);
    // Picks up every entry this shard's queues still hold (call once, at the first loop turn).
    void recover();
    // message_deliver addressed to this shard (the owner of some recipients' mailboxes).
    void on_message(Message& m);
    // Recipients that fail for good are reported here (a bounce), before their state is written.
    void set_bounce_hook(BounceHook hook) { bounce_ = std::move(hook); }

    const DeliveryStats& stats() const noexcept { return stats_; }
    std::size_t entries_in_memory() const noexcept { return entries_.size(); }

private:
    struct Entry {
        std::uint32_t segment = 0;
        std::uint64_t id = 0;
        store::Envelope envelope;
        std::shared_ptr<const std::string> body;
        std::size_t outstanding = 0;   // recipients handed off and not yet reported
        bool retry_scheduled = false;
        bool writing = false;          // an update or removal is with the lane
        std::size_t bounces_pending = 0;  // bounces not yet durable: the failures they report wait
        std::function<void()> answer;  // answer_after_hand_off: the accept's answer, once nothing is outstanding
    };
    using Key = std::pair<std::uint32_t, std::uint64_t>;

    void hand_off(Entry& entry);
    static void answer_if_reported(Entry& entry);
    void apply_outcomes(std::uint32_t segment, std::uint64_t id,
                        const std::vector<std::tuple<std::uint16_t, store::RecipientState, std::string>>& outcomes);
    void settle(const Key& key);
    void bounce_then_settle(const Key& key, std::vector<std::size_t> failed);
    void done_without_body(const Key& key, const BounceDone& done);
    void schedule_retry(const Key& key, std::int64_t at_unix);
    void flush_removals();
    // Owner side.
    struct Work;
    void deliver(const std::shared_ptr<Work>& work);
    void deliver_one(const std::shared_ptr<Work>& work, std::size_t i);
    struct RecipientRead;  // what the owner reads of a recipient before the append
    static RecipientRead read_recipient(const Directory& directory, const MailStoreView& view, const crypto::KeySet& keys,
                                        std::uint64_t user_id, const store::DeliveryMarker& marker);
    void append_one(const std::shared_ptr<Work>& work, std::size_t i, const store::DeliveryMarker& marker,
                    RecipientRead read);
    void report(const std::shared_ptr<Work>& work);
    std::int64_t now_unix() const;

    Shard& shard_;
    ShardStore& store_;
    MailboxWrites& writes_;
    const Directory& directory_;
    ShardCalls& calls_;
    DeliveryOptions options_;
    ShardReads* reads_;
    // Hand-offs whose account and marker a store reader is reading (with MailboxWrites' markers in
    // flight, the "own set" of store/queue.h's exactly-once check).
    std::set<store::DeliveryMarker> reading_;
    std::map<Key, Entry> entries_;
    std::map<std::uint32_t, std::vector<std::uint64_t>> removals_;  // finished entries by segment
    bool removals_scheduled_ = false;
    DeliveryStats stats_;
    BounceHook bounce_;
};

}  // namespace vmx
