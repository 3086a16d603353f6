// New entries of this shard's queues (smtp-in for local recipients, smtp-out for remote ones):
// sealed under the appliance scope by store::Queue, submitted to the shard's store lane, the caller
// told once it is durable; and how many entries the owned queues hold. Shard thread (the queue
// segments' owner) only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "appliance/mailstore/shard_store.h"
#include "core/result.h"
#include "store/envelope.h"
#include "store/queue.h"

namespace vmx {

enum class EnqueueOutcome : std::uint8_t {
    stored,   // durable: the client may have its 250
    failed,   // the write failed (451)
    full,     // no room: the lane's queue, the environment's map or the disk (452)
};

using EnqueueDone = std::function<void(EnqueueOutcome, std::uint64_t entry_id)>;

// The segment whose queues hold what this shard accepts: its first owned segment, so every message
// accepted during one lane turn shares one durable commit.
std::uint32_t queue_segment(const ShardStore& store);

// "SSIIIIIIII": the segment and entry id in hex, the id clients see in "250 ... queued as"; an
// smtp-out entry's has an "O" in front, so the two queues' ids never meet.
std::string queue_id_of(std::uint32_t segment, std::uint64_t entry_id);
std::string queue_id_of(store::QueueKind kind, std::uint32_t segment, std::uint64_t entry_id);

// Writes envelope and body as a new entry of this shard's `kind` queue. `done` runs exactly once on
// this shard: after the lane's durable commit, or at once when the entry cannot be prepared (failed)
// or the lane has no room (full). The entry id is 0 when nothing was prepared.
void enqueue(ShardStore& store, store::QueueKind kind, const store::Envelope& envelope, const std::string& body,
             EnqueueDone done);

// The entries in the `kind` queues of every segment this shard owns (short read transactions).
Result<std::size_t> count_entries(ShardStore& store, store::QueueKind kind);

}  // namespace vmx
