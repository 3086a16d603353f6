// Trash purge (see trash_purge.h).
#include "appliance/jobs/trash_purge.h"

#include <ctime>

#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "core/log.h"
#include "store/errc.h"

namespace vmx {

TrashPurge::TrashPurge(ShardStore& store, MailboxWrites& writes, const Directory& directory, TrashPurgeOptions options,
                       ShardReads* reads)
    : store_(store), writes_(writes), directory_(directory), options_(std::move(options)), reads_(reads),
      walk_(store.shard(), store.envs().segments(), options_.interval_ms,
            Walk::Hooks{[this] { pass_now_unix_ = now_unix(); },
                        [this](std::uint32_t segment, const std::optional<std::uint64_t>& from,
                               const Walk::StepDone& done) { step(segment, from, done); },
                        [this](bool ok) { stats_.passes += ok ? 1 : 0; }}) {}

std::int64_t TrashPurge::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

// Any thread: the shard, or a store reader on a shared store.
Result<TrashPurge::Page> TrashPurge::read_page(const Directory& directory, const MailStoreView& view,
                                               const crypto::KeySet& keys, std::uint32_t segment, std::uint64_t from,
                                               std::size_t max) {
    auto owners = mailbox_owners(view, segment, from, max);
    if (!owners) return fail(owners.error());
    Page page;
    page.seen = owners->users.size();
    for (std::uint64_t user_id : owners->users) {
        // The state record names its own key; the scope only matters for writing.
        auto state = mailbox_state(view, keys, store::MailboxRef{user_id, segment, crypto::Scope{}});
        if (!state || state->trash_count == 0) continue;
        auto account = account_of(directory, keys, user_id, view.segments());
        if (!account) continue;  // an account being closed: its own purge removes the mailbox
        page.with_trash.push_back(account->mailbox);
    }
    if (!owners->complete && !owners->users.empty() && owners->users.back() != UINT64_MAX)
        page.next = owners->users.back() + 1;
    return page;
}

void TrashPurge::step(std::uint32_t segment, const std::optional<std::uint64_t>& from, const Walk::StepDone& done) {
    const bool queued = read_then(
        reads_,
        [&directory = directory_, view = store_view(store_), keys = store_.keys_snapshot(), segment,
         first = from.value_or(0), max = options_.mailboxes_per_step] {
            return read_page(directory, view, *keys, segment, first, max);
        },
        [this, segment, done](Result<Page> page) { purge(segment, std::move(page), done); });
    if (!queued) done(fail(store::StoreErrc::queue_full));
}

void TrashPurge::purge(std::uint32_t segment, Result<Page> page, const Walk::StepDone& done) {
    if (!page) return done(fail(page.error()));
    stats_.mailboxes_seen += page->seen;
    for (const store::MailboxRef& box : page->with_trash) {
        ++stats_.purges_started;
        writes_.purge(box, pass_now_unix_, options_.retention_s, [this, segment](Result<std::uint64_t> r) {
            if (!r) {
                log_event(LogLevel::warn, "store.trash_purge_failed", "segment={} error=\"{}\"", segment, r.error().message());
                return;
            }
            stats_.messages_purged += *r;
            if (*r > 0) log_event(LogLevel::info, "store.trash_purged", "segment={} messages={}", segment, *r);
        });
    }
    done(page->next);
}

}  // namespace vmx
