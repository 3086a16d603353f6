// Pop3Maildrops (see maildrop.h): maildrop locks and deletions on the mailbox's owner shard.
#include "appliance/pop3/maildrop.h"

#include <ctime>
#include <memory>

#include "appliance/common/shard_calls.h"
#include "appliance/mailstore/mailbox_writes.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/pop3/maildrop_leases.h"
#include "core/log.h"
#include "core/shard.h"
#include "store/errc.h"
#include "store/layout.h"

namespace vmx {
namespace {

struct ExpungePayload final : MessagePayload {
    store::MailboxRef box;
    std::vector<std::uint64_t> ids;
};

}  // namespace

Pop3Maildrops::Pop3Maildrops(Shard& shard, ShardStore& store, MailboxWrites& writes, ShardCalls& calls,
                             MaildropLeases* leases)
    : shard_(shard), store_(store), writes_(writes), calls_(calls), leases_(leases) {
    if (!leases_) return;
    shard_.watch_readable(leases_->result_fd(shard_.id()), [this](Shard&) {
        leases_->drain(shard_.id(), [this](LeaseNews&& news) {
            if (news.done) return news.done(news.outcome);
            lease_lost(news.user_id);
        });
    });
}

std::uint32_t Pop3Maildrops::owner_of(std::uint64_t user_id) const {
    return store::owner_shard(store::segment_of(user_id, store_.segment_count()), shard_.shard_count());
}

// ---- owner side --------------------------------------------------------------------------------

// This node's sessions are decided here first; only a lock this shard would grant asks the cluster.
void Pop3Maildrops::lock(std::uint64_t user_id, Holder holder, LockDone done) {
    if (!locks_.emplace(user_id, Lock{holder}).second) return done(LockOutcome::in_use);
    if (!leases_) return done(LockOutcome::granted);
    auto answer = std::make_shared<LockDone>(std::move(done));  // the keeper's or the refusal's
    auto asked = leases_->acquire(shard_.id(), user_id, [this, user_id, holder, answer](store::LeaseOutcome o) {
        lease_answered(user_id, holder, o, *answer);
    });
    if (asked) return;
    locks_.erase(user_id);
    (*answer)(LockOutcome::unavailable);
}

void Pop3Maildrops::lease_answered(std::uint64_t user_id, Holder holder, store::LeaseOutcome outcome,
                                   const LockDone& done) {
    auto it = locks_.find(user_id);
    // Released before the cluster answered: the release, queued after this request, gives it back.
    if (it == locks_.end() || !it->second.holder.same(holder)) return done(LockOutcome::unavailable);
    if (outcome == store::LeaseOutcome::granted) {
        it->second.leased = true;
        return done(LockOutcome::granted);
    }
    locks_.erase(it);
    done(outcome == store::LeaseOutcome::busy ? LockOutcome::in_use : LockOutcome::unavailable);
}

// A loss is posted before any later grant of the same lease, so a lock still waiting for its grant
// is a newer one than the lost lease's.
void Pop3Maildrops::lease_lost(std::uint64_t user_id) {
    auto it = locks_.find(user_id);
    if (it == locks_.end() || !it->second.leased) return;
    it->second.lease_lost = true;
    log_event(LogLevel::warn, "pop3.lock_lost", "user={} shard={}", user_id, it->second.holder.shard);
}

void Pop3Maildrops::unlock(std::uint64_t user_id, Holder holder) {
    auto it = locks_.find(user_id);
    if (it == locks_.end() || !it->second.holder.same(holder)) return;
    locks_.erase(it);
    if (leases_) leases_->release(user_id);
}

void Pop3Maildrops::run_expunge(const store::MailboxRef& box, const std::vector<std::uint64_t>& ids, ExpungeDone done) {
    // Another node's session may hold the maildrop now: what this one saw is not what it would delete.
    if (auto it = locks_.find(box.user_id); it != locks_.end() && it->second.lease_lost) return done(false);
    struct Left {
        std::size_t count;
        bool ok = true;
        ExpungeDone done;
    };
    auto left = std::make_shared<Left>(Left{ids.size(), true, std::move(done)});
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (std::uint64_t id : ids) {
        writes_.move_to_trash(box, id, now, [left](Result<std::uint64_t> r) {
            // not live any more (an admin trashed it) or gone: what QUIT asked for is true already.
            if (!r && r.error() != store::StoreErrc::invalid_request && r.error() != store::StoreErrc::not_found)
                left->ok = false;
            if (--left->count == 0) left->done(left->ok);
        });
    }
}

// ---- session side ------------------------------------------------------------------------------

std::uint64_t Pop3Maildrops::acquire(std::uint64_t user_id, LockDone done) {
    const std::uint64_t token = next_token_++;
    const std::uint32_t owner = owner_of(user_id);
    if (owner == shard_.id()) {
        lock(user_id, {owner, token}, std::move(done));
        return token;
    }
    Message m;
    m.kind = message_pop3_lock;
    m.a = user_id;
    m.b = token;
    auto called = calls_.call(owner, std::move(m), [this, token](Message& reply) {
        locked(token, static_cast<LockOutcome>(reply.b));
    });
    if (!called) {
        done(LockOutcome::unavailable);
        return token;
    }
    lock_waiting_[token] = Waiting{user_id, std::move(done)};
    return token;
}

void Pop3Maildrops::release(std::uint64_t user_id, std::uint64_t token) {
    if (auto it = lock_waiting_.find(token); it != lock_waiting_.end()) {
        it->second.done = nullptr;  // the answer is still on its way; locked() gives a grant back
        return;
    }
    const std::uint32_t owner = owner_of(user_id);
    if (owner == shard_.id()) return unlock(user_id, {owner, token});
    send_unlock(owner, user_id, token);
}

// A release must arrive, or the maildrop stays locked until the owner restarts: sent until taken.
void Pop3Maildrops::send_unlock(std::uint32_t owner, std::uint64_t user_id, std::uint64_t token) {
    Message m;
    m.kind = message_pop3_unlock;
    m.a = user_id;
    m.b = token;
    calls_.send_until_taken(owner, std::move(m));
}

void Pop3Maildrops::locked(std::uint64_t lock_token, LockOutcome outcome) {
    auto it = lock_waiting_.find(lock_token);
    if (it == lock_waiting_.end()) return;
    Waiting waiting = std::move(it->second);
    lock_waiting_.erase(it);
    if (waiting.done) return waiting.done(outcome);
    if (outcome == LockOutcome::granted) send_unlock(owner_of(waiting.user_id), waiting.user_id, lock_token);
}

void Pop3Maildrops::expunge(const store::MailboxRef& box, std::vector<std::uint64_t> ids, ExpungeDone done) {
    if (ids.empty()) return done(true);
    const std::uint32_t owner = owner_of(box.user_id);
    if (owner == shard_.id()) return run_expunge(box, ids, std::move(done));
    auto payload = std::make_unique<ExpungePayload>();
    payload->box = box;
    payload->ids = std::move(ids);
    Message m;
    m.kind = message_pop3_expunge;
    m.payload = std::move(payload);
    auto shared_done = std::make_shared<ExpungeDone>(std::move(done));
    auto called = calls_.call(owner, std::move(m), [shared_done](Message& reply) { (*shared_done)(reply.b == 1); });
    if (!called) (*shared_done)(false);
}

// ---- requests to the owner ---------------------------------------------------------------------

void Pop3Maildrops::on_message(Message& m) {
    if (m.kind == message_pop3_lock) {
        const std::uint32_t from = m.from;
        const std::uint64_t token = m.token;
        lock(m.a, {m.from, m.b}, [this, from, token](LockOutcome o) {
            Message reply;
            reply.b = static_cast<std::uint64_t>(o);
            calls_.reply(from, token, std::move(reply));
        });
    } else if (m.kind == message_pop3_unlock) {
        unlock(m.a, {m.from, m.b});
    } else if (m.kind == message_pop3_expunge && m.payload) {
        auto* p = static_cast<ExpungePayload*>(m.payload.get());
        const std::uint32_t from = m.from;
        const std::uint64_t token = m.token;
        run_expunge(p->box, p->ids, [this, from, token](bool ok) {
            Message reply;
            reply.b = ok ? 1 : 0;
            calls_.reply(from, token, std::move(reply));
        });
    }
}

}  // namespace vmx
