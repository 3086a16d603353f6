// Trash purge (see trash_purge.h).
#include "appliance/jobs/trash_purge.h"

#include <ctime>

#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "core/log.h"

namespace vmx {

TrashPurge::TrashPurge(ShardStore& store, MailboxWrites& writes, const Directory& directory, TrashPurgeOptions options)
    : store_(store), writes_(writes), directory_(directory), options_(std::move(options)),
      walk_(store.shard(), store.envs().segments(), options_.interval_ms,
            Walk::Hooks{[this] { pass_now_unix_ = now_unix(); },
                        [this](std::uint32_t segment, const std::optional<std::uint64_t>& from,
                               const Walk::StepDone& done) { step(segment, from, done); },
                        [this](bool ok) { stats_.passes += ok ? 1 : 0; }}) {}

std::int64_t TrashPurge::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

void TrashPurge::step(std::uint32_t segment, const std::optional<std::uint64_t>& from, const Walk::StepDone& done) {
    auto page = mailbox_owners(store_, segment, from.value_or(0), options_.mailboxes_per_step);
    if (!page) return done(fail(page.error()));
    for (std::uint64_t user : page->users) consider(segment, user);
    stats_.mailboxes_seen += page->users.size();
    std::optional<std::uint64_t> next;  // none: the segment is done
    if (!page->complete && !page->users.empty() && page->users.back() != UINT64_MAX) next = page->users.back() + 1;
    done(next);
}

void TrashPurge::consider(std::uint32_t segment, std::uint64_t user_id) {
    // The state record names its own key; the scope only matters for writing.
    auto state = mailbox_state(store_, store::MailboxRef{user_id, segment, crypto::Scope{}});
    if (!state || state->trash_count == 0) return;
    auto account = account_of(directory_, store_.keys(), user_id, store_.segment_count());
    if (!account) return;  // an account being closed: its own purge removes the mailbox
    ++stats_.purges_started;
    writes_.purge(account->mailbox, pass_now_unix_, options_.retention_s, [this, segment](Result<std::uint64_t> r) {
        if (!r) {
            log_event(LogLevel::warn, "store.trash_purge_failed", "segment={} error=\"{}\"", segment, r.error().message());
            return;
        }
        stats_.messages_purged += *r;
        if (*r > 0) log_event(LogLevel::info, "store.trash_purged", "segment={} messages={}", segment, *r);
    });
}

}  // namespace vmx
