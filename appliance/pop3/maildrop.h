// Pop3Maildrops: what the owner shard of a mailbox does for POP3 sessions, wherever they run. A
// POP3 connection stays on the shard that accepted it (its TLS session and socket live there); the
// maildrop's lock and its deletions belong to the shard that owns the mailbox's segment (the only
// one that may write it, and one place where "one session per maildrop" can be decided without
// locks). A session on another shard asks by message (pop3_lock, pop3_unlock, pop3_expunge); on
// the owner shard the same calls run directly. Reads (listing, RETR) need no hand-off: any shard reads any segment.
// Requests and their answers go through ShardCalls (common/shard_calls.h): a request the owner
// cannot take fails at once (unavailable), an answer is sent until the session's shard takes it.
// In a store shared by several nodes (leases set) the owner also holds the maildrop's lease in the
// cluster (maildrop_leases.h) before it grants the lock, and gives it back with the lock; a lock
// whose lease was lost refuses its session's deletions.
// Shard thread only. Invariants: a lock is held by one (shard, token) at a time; a grant that
// arrives for a session that has gone is released at once; a lost release is impossible while the
// requesting shard runs, because a release is sent until taken, after the request it follows.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "appliance/common/message_kinds.h"
#include "core/message.h"
#include "store/lease_keeper.h"
#include "store/mailbox.h"

namespace vmx {

class Shard;
class MailboxWrites;
class ShardCalls;
class ShardStore;
class MaildropLeases;

enum class LockOutcome : std::uint8_t { granted, in_use, unavailable };
using LockDone = std::function<void(LockOutcome)>;
using ExpungeDone = std::function<void(bool ok)>;

class Pop3Maildrops {
public:
    // `leases`: the cluster's maildrop leases of a shared store, else nullptr.
    Pop3Maildrops(Shard& shard, ShardStore& store, MailboxWrites& writes, ShardCalls& calls,
                  MaildropLeases* leases = nullptr);

    // ---- The session's shard ----
    // Asks the owner for the user's maildrop lock; returns the token to release or cancel it with.
    // `done` may run before this returns (owner is this shard).
    std::uint64_t acquire(std::uint64_t user_id, LockDone done);
    // Gives the lock back, or forgets a request still in flight (a grant that comes later is
    // released at once). Call once per token, when the session ends for any reason.
    void release(std::uint64_t user_id, std::uint64_t token);
    // Moves the messages to trash on the owner; `done` runs once every move is durable (ok) or one
    // failed. Messages no longer live (an admin moved them meanwhile) count as done.
    void expunge(const store::MailboxRef& box, std::vector<std::uint64_t> ids, ExpungeDone done);

    // Requests addressed to this shard as the owner (pop3_lock, pop3_unlock, pop3_expunge).
    void on_message(Message& m);

    std::size_t locks_held() const noexcept { return locks_.size(); }

private:
    struct Holder {
        std::uint32_t shard = 0;
        std::uint64_t token = 0;
        bool same(const Holder& o) const noexcept { return shard == o.shard && token == o.token; }
    };
    struct Lock {
        Holder holder;
        bool leased = false;      // the cluster granted its lease
        bool lease_lost = false;  // the cluster's lease ran out under it: no deletions
    };
    std::uint32_t owner_of(std::uint64_t user_id) const;
    // `done` may run before this returns (no lease to ask for).
    void lock(std::uint64_t user_id, Holder holder, LockDone done);
    void lease_answered(std::uint64_t user_id, Holder holder, store::LeaseOutcome outcome, const LockDone& done);
    void lease_lost(std::uint64_t user_id);
    void unlock(std::uint64_t user_id, Holder holder);
    void locked(std::uint64_t lock_token, LockOutcome outcome);
    void run_expunge(const store::MailboxRef& box, const std::vector<std::uint64_t>& ids, ExpungeDone done);

    Shard& shard_;
    ShardStore& store_;
    MailboxWrites& writes_;
    ShardCalls& calls_;
    MaildropLeases* leases_;
    std::uint64_t next_token_ = 1;  // lock tokens (the session's handle on its lock)
    std::unordered_map<std::uint64_t, Lock> locks_;               // owner side: by user id
    struct Waiting {
        std::uint64_t user_id = 0;
        LockDone done;  // empty once released before the answer came: a grant is given back
    };
    void send_unlock(std::uint32_t owner, std::uint64_t user_id, std::uint64_t token);

    std::unordered_map<std::uint64_t, Waiting> lock_waiting_;     // session side: by lock token
};

}  // namespace vmx
