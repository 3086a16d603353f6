// The closure purge (see closure_purge.h). A pass is a chain of steps, each started by the one
// before (a mailbox step only when its shard answers), so the control loop runs between them.
#include "appliance/jobs/closure_purge.h"

#include <algorithm>
#include <ctime>

#include "appliance/directory/account.h"
#include "core/log.h"

namespace vmx {

ClosurePurge::ClosurePurge(Directory& directory, KeyService& keys, LoginHistory* logins,
                           std::function<void()> flush_logins, AuditLog* audit, MailboxErase erase_mailbox,
                           ClosurePurgeOptions options)
    : directory_(directory), keys_(keys), logins_(logins), flush_logins_(std::move(flush_logins)), audit_(audit),
      erase_mailbox_(std::move(erase_mailbox)), options_(std::move(options)) {}

std::int64_t ClosurePurge::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

void ClosurePurge::tick(std::uint64_t now_ms) {
    if (options_.interval_ms == 0 || running_ || now_ms < next_pass_ms_) return;
    next_pass_ms_ = now_ms + options_.interval_ms;
    run_pass();
}

void ClosurePurge::run_pass() {
    if (running_) {
        again_ = true;
        return;
    }
    running_ = true;
    again_ = false;
    pass_now_unix_ = now_unix();
    purging_orgs_.clear();
    // Keys first: a purge stopped after its directory step still owes its key.
    shred_keys([this] { mark_orgs(); });
}

void ClosurePurge::purge_now(std::uint64_t user_id, Done done) {
    auto marked = directory_.mark_purging(*keys_.snapshot(), user_id);
    if (!marked) return done(fail(marked.error()));
    waiting_.emplace_back(user_id, std::move(done));
    run_pass();
}

// Destroys the keys of purged scopes (their markers), shreds_per_step at a time.
void ClosurePurge::shred_keys(const std::function<void()>& then) {
    auto pending = directory_.pending_shreds(options_.shreds_per_step);
    if (!pending) return end_pass(pending.error());
    for (const crypto::Scope& scope : *pending) {
        auto destroyed = keys_.destroy_scope(scope);
        if (!destroyed) return end_pass(destroyed.error());
        if (*destroyed) {
            ++stats_.keys_destroyed;
            log_event(LogLevel::info, "keys.scope_destroyed", "scope={} owner={} reason=closure_purge",
                      scope.kind == crypto::ScopeKind::user ? "user" : "org", scope.owner);
        }
        if (auto r = directory_.shred_done(scope); !r) return end_pass(r.error());
    }
    if (pending->size() == options_.shreds_per_step) return shred_keys(then);
    then();
}

// Organisations due (or already purging) are marked; their users are purged with them.
void ClosurePurge::mark_orgs() {
    std::vector<Organisation> orgs;
    {
        auto txn = store::ReadTxn::begin(directory_.env());
        if (!txn) return end_pass(txn.error());
        auto listed = directory_.list_orgs(*txn, *keys_.snapshot());
        if (!listed) return end_pass(listed.error());
        orgs = std::move(*listed);
    }
    for (const Organisation& o : orgs) {
        if (o.closed_unix == 0) continue;
        if (!o.purging && !purge_due(o.closed_unix, options_.closure_purge_days, pass_now_unix_)) continue;
        if (auto r = directory_.mark_org_purging(*keys_.snapshot(), o.id); !r) return end_pass(r.error());
        purging_orgs_.insert(o.id);
    }
    users_from(0);
}

bool ClosurePurge::due(const User& u) const {
    if (u.state != UserState::closed && !purging_orgs_.contains(u.org_id)) return false;
    return u.purging || purging_orgs_.contains(u.org_id) ||
           purge_due(u.closed_unix, options_.closure_purge_days, pass_now_unix_);
}

// One page of users; those due are purged one after the other before the next page is read.
void ClosurePurge::users_from(std::uint64_t from_id) {
    Directory::UsersPage page;
    {
        auto txn = store::ReadTxn::begin(directory_.env());
        if (!txn) return end_pass(txn.error());
        auto read = directory_.users_page(*txn, *keys_.snapshot(), from_id, options_.users_per_step);
        if (!read) return end_pass(read.error());
        page = std::move(*read);
    }
    std::vector<User> due_users;
    for (User& u : page.users)
        if (due(u)) due_users.push_back(std::move(u));
    next_user(std::move(due_users), 0, page.next_id.value_or(0));
}

// next_id 0: the page was the last one.
void ClosurePurge::next_user(std::vector<User> due_users, std::size_t index, std::uint64_t next_id) {
    if (index == due_users.size()) {
        if (next_id != 0) return users_from(next_id);
        return remove_orgs();
    }
    const User user = due_users[index];
    purge_user(user, [this, due_users = std::move(due_users), index, next_id]() mutable {
        next_user(std::move(due_users), index + 1, next_id);
    });
}

void ClosurePurge::purge_user(const User& user, const std::function<void()>& then) {
    User marked = user;
    if (!user.purging) {
        // An open user of a purging organisation (none should be: closing the org closed them) is
        // closed first, so that nothing reads as open while its data goes.
        if (user.state != UserState::closed) {
            auto closed = directory_.close_user(*keys_.snapshot(), user.address, pass_now_unix_);
            if (!closed) return end_pass(closed.error());
        }
        auto r = directory_.mark_purging(*keys_.snapshot(), user.id);
        if (!r) return end_pass(r.error());
        marked = std::move(*r);
    }
    erase_mailbox(marked, mailbox_of(marked.id, options_.segments), then);
}

void ClosurePurge::erase_mailbox(const User& user, const store::MailboxRef& box, const std::function<void()>& then) {
    erase_mailbox_(box, options_.messages_per_step, [this, user, box, then](Result<std::uint64_t> remaining) {
        if (!remaining) return end_pass(remaining.error());
        if (*remaining > 0) return erase_mailbox(user, box, then);
        finish_user(user, then);
    });
}

// The login history, then the record with its marker, then the key.
void ClosurePurge::finish_user(const User& user, const std::function<void()>& then) {
    if (flush_logins_) flush_logins_();
    if (logins_ != nullptr) {
        for (;;) {
            auto erased = logins_->erase_user(user.id, options_.logins_per_step);
            if (!erased) return end_pass(erased.error());
            if (*erased < options_.logins_per_step) break;
        }
    }
    if (grants_ != nullptr) {
        if (auto r = grants_->erase(user.id); !r) return end_pass(r.error());
    }
    if (auto r = directory_.remove_user(*keys_.snapshot(), user.id); !r) return end_pass(r.error());
    ++stats_.users_purged;
    log_event(LogLevel::info, "user.purged", "user_id={}", user.id);
    audit("user purged", user.id);
    shred_keys([this, id = user.id, then] {
        for (auto it = waiting_.begin(); it != waiting_.end();) {
            if (it->first != id) {
                ++it;
                continue;
            }
            Done done = std::move(it->second);
            it = waiting_.erase(it);
            done(Result<void>{});
        }
        then();
    });
}

// Purging organisations whose users are all gone: their domains and themselves, then their keys.
void ClosurePurge::remove_orgs() {
    for (const std::uint64_t id : purging_orgs_) {
        auto r = directory_.remove_org(*keys_.snapshot(), id);
        if (!r && r.error() == std::errc::directory_not_empty) continue;  // a later pass finishes it
        if (!r) return end_pass(r.error());
        ++stats_.orgs_purged;
        log_event(LogLevel::info, "org.purged", "org_id={}", id);
        audit("org purged", id);
    }
    shred_keys([this] { end_pass({}); });
}

void ClosurePurge::end_pass(std::error_code error) {
    running_ = false;
    if (error) {
        ++stats_.failed_passes;
        log_event(LogLevel::warn, "closure_purge.pass_failed", "error=\"{}\"", error.message());
    } else {
        ++stats_.passes;
    }
    if (again_) return run_pass();  // asked for during this pass: its waiters wait for that one
    // Whoever waited on an account this pass did not finish hears why (or that it is still there).
    std::vector<std::pair<std::uint64_t, Done>> waiting;
    waiting.swap(waiting_);
    for (auto& [id, done] : waiting) done(fail(error ? error : make_error_code(DirectoryErrc::account_closed)));
}

// The audit chain records the purge as the daemon's own act (uid 0), by id only.
void ClosurePurge::audit(std::string_view what, std::uint64_t id) {
    if (audit_ == nullptr) return;
    AuditEntry entry;
    entry.time_unix = now_unix();
    entry.command = std::string(what);
    entry.arguments = {"id=" + std::to_string(id), "by=closure_purge"};
    if (auto r = audit_->append(entry); !r)
        log_event(LogLevel::error, "audit.append_failed", "command=\"{}\" error=\"{}\"", what, r.error().message());
}

}  // namespace vmx
