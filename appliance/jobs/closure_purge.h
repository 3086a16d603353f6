// The closure purge: every record of an account closed for longer than [lifecycle]
// closure_purge_days goes, then the account's own key (crypto-shredding); an organisation
// closed that long goes with its users, its domains and its own key. A pass runs every sweep
// interval ([store] sweep_interval_s) on the control thread, the directory's only writer; the
// mailbox half runs on the mailbox's owner shard (its only writer) through `erase_mailbox`.
//
// One account's purge, each step bounded and each safe to run again:
//   1. mark it purging (durable): from here on nothing reopens it;
//   2. its mailbox, live and trash, messages_per_step messages a step, until none remain (the
//      state record goes with the last);
//   3. its login history, logins_per_step entries a step (pending entries are flushed first), and
//      its support grant;
//   4. its record (credentials, app passwords, TOTP secret, allowed senders are in it) and its
//      index entry, with a shred marker, in one transaction: the address is free again;
//   5. the keys of the marker's scope (the user's account key on every plan, and an ultimate
//      user's own scope key), then the marker; every key backup loses them next (KeyService).
// Sessions were ended and their tokens voided when it was closed. Everything the purge needs to go
// on is in the store (the purging mark, what is left, the markers), so a pass stopped anywhere (a
// failed step, SIGKILL) is finished by a later pass. A failed step ends the pass; the next one
// starts over from the first user. Each account purged is an event (user.purged, with the user
// id and never the address) and an audit entry. Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

#include "appliance/audit/audit_log.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "appliance/directory/support_grants.h"
#include "appliance/keys/key_service.h"
#include "core/result.h"
#include "store/mailbox.h"

namespace vmx {

struct ClosurePurgeOptions {
    std::uint32_t closure_purge_days = 37;    // [lifecycle] closure_purge_days
    std::uint64_t interval_ms = 300'000;      // between passes ([store] sweep_interval_s); 0: only when asked
    std::uint32_t segments = 16;              // the store's segment count (where a mailbox lives)
    std::size_t users_per_step = 256;         // directory records read in one step
    std::size_t messages_per_step = 256;      // messages erased in one mailbox step
    std::size_t logins_per_step = 4096;       // login history entries erased in one step
    std::size_t shreds_per_step = 64;         // scope keys destroyed in one step
    std::function<std::int64_t()> now_unix;   // empty: the wall clock
};

// Erases up to messages_max messages of the mailbox on its owner shard; done gets how many remain
// (0: the mailbox is gone) or why it could not (a busy shard, a store error).
using MailboxErase = std::function<void(const store::MailboxRef& box, std::size_t messages_max,
                                        std::function<void(Result<std::uint64_t>)> done)>;

struct ClosurePurgeStats {
    std::uint64_t passes = 0;
    std::uint64_t failed_passes = 0;
    std::uint64_t users_purged = 0;
    std::uint64_t orgs_purged = 0;
    std::uint64_t keys_destroyed = 0;
};

class ClosurePurge {
public:
    using Done = std::function<void(Result<void>)>;

    // `logins` and `audit` may be null (tests); flush_logins writes pending history entries first.
    ClosurePurge(Directory& directory, KeyService& keys, LoginHistory* logins, std::function<void()> flush_logins,
                 AuditLog* audit, MailboxErase erase_mailbox, ClosurePurgeOptions options);
    // The support grants a purged account's goes from (none: not erased here).
    void erase_grants_from(SupportGrants* grants) { grants_ = grants; }
    ClosurePurge(const ClosurePurge&) = delete;
    ClosurePurge& operator=(const ClosurePurge&) = delete;

    // Called by the control loop: starts a pass when one is due and none runs.
    void tick(std::uint64_t now_ms);
    // A pass now, or right after the one running.
    void run_pass();
    // `vaultmx user purge --now`: marks a closed account purging and runs a pass; done when the
    // account is gone, or with the pass's error. Refused (account_not_closed) for an open account.
    void purge_now(std::uint64_t user_id, Done done);
    bool running() const noexcept { return running_; }
    const ClosurePurgeStats& stats() const noexcept { return stats_; }

private:
    void shred_keys(const std::function<void()>& then);
    void mark_orgs();
    void users_from(std::uint64_t from_id);
    void next_user(std::vector<User> due, std::size_t index, std::uint64_t next_id);
    void purge_user(const User& user, const std::function<void()>& then);
    void erase_mailbox(const User& user, const store::MailboxRef& box, const std::function<void()>& then);
    void finish_user(const User& user, const std::function<void()>& then);
    void remove_orgs();
    void end_pass(std::error_code error);
    bool due(const User& user) const;
    void audit(std::string_view what, std::uint64_t id);
    std::int64_t now_unix() const;

    Directory& directory_;
    KeyService& keys_;
    LoginHistory* logins_;
    std::function<void()> flush_logins_;
    AuditLog* audit_;
    SupportGrants* grants_ = nullptr;
    MailboxErase erase_mailbox_;
    const ClosurePurgeOptions options_;
    bool running_ = false;
    bool again_ = false;                    // a pass was asked for while one ran
    std::uint64_t next_pass_ms_ = 0;
    std::int64_t pass_now_unix_ = 0;        // "now" for the whole pass
    std::set<std::uint64_t> purging_orgs_;  // organisations this pass purges
    std::vector<std::pair<std::uint64_t, Done>> waiting_;  // purge_now callers, by user id
    ClosurePurgeStats stats_;
};

}  // namespace vmx
