// MaildropLeases: the POP3 maildrop locks of a store shared by several nodes, held as leases in the
// cluster (store/lease_keeper.h; "pop3.<user id>" in the space "leases.<ssss>" of the mailbox's
// segment), so one session per maildrop holds across nodes as it does across the shards of one node. The owner shard of a mailbox still decides first among this node's
// sessions (Pop3Maildrops); only a lock it would grant asks the cluster, on the keeper's thread,
// and the answer comes back to that shard through its outbox (eventfd), never blocking it.
// A node that dies holds its leases until they run out ([rados] lease_s); one that stops gives them
// back at once. A lease this node fails to renew in time is reported lost to the owner shard, which
// then refuses the session's deletions: the maildrop may belong to a session on another node.
// Threads: acquire() and release() on any shard; drain(shard) on that shard only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "appliance/common/worker_outbox.h"
#include "core/result.h"
#include "store/lease_keeper.h"

namespace vmx {

namespace store {
class StoreLayout;
}

struct LeaseNews {
    std::uint64_t user_id = 0;
    store::LeaseOutcome outcome = store::LeaseOutcome::unavailable;
    std::function<void(store::LeaseOutcome)> done;  // empty: the lease was lost
};

class MaildropLeases {
public:
    // nullptr when the store is not shared (the node is the only one, and its shards decide alone).
    // `node` and a random number name this run as the holder.
    static Result<std::unique_ptr<MaildropLeases>> open(const store::StoreLayout& layout, std::uint32_t shards,
                                                        store::LeaseOptions options);
    ~MaildropLeases();
    MaildropLeases(const MaildropLeases&) = delete;
    MaildropLeases& operator=(const MaildropLeases&) = delete;

    void start() { keeper_->start(); }
    void stop() { keeper_->stop(); }  // gives every lease back

    // From the mailbox's owner shard; `done` runs later on that shard. false: refused at once (the
    // keeper's queue is full), done never runs.
    bool acquire(std::uint32_t shard, std::uint64_t user_id, std::function<void(store::LeaseOutcome)> done);
    void release(std::uint64_t user_id);

    int result_fd(std::uint32_t shard) const noexcept { return outboxes_[shard]->fd(); }
    template <class Fn>
    void drain(std::uint32_t shard, Fn&& fn) {
        outboxes_[shard]->drain(std::forward<Fn>(fn));
    }
    std::size_t held() const { return keeper_->held(); }

    static std::string lease_name(std::uint64_t user_id);  // "pop3.<user id>"

private:
    MaildropLeases(std::vector<std::unique_ptr<store::Space>> spaces, std::uint32_t shards, std::string holder,
                   store::LeaseOptions options);
    std::uint32_t segment_of(std::uint64_t user_id) const;
    void lost(const std::string& name);

    std::vector<std::unique_ptr<store::Space>> spaces_;  // by segment
    std::vector<std::unique_ptr<WorkerOutbox<LeaseNews>>> outboxes_;  // by shard
    std::unique_ptr<store::LeaseKeeper> keeper_;
};

}  // namespace vmx
