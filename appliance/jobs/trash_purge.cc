// Trash purge (see trash_purge.h).
#include "appliance/jobs/trash_purge.h"

#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "core/log.h"

namespace vmx {

std::size_t TrashPurge::run(std::int64_t now_unix, std::size_t mailboxes_max) {
    const auto& owned = store_.envs().segments();
    std::size_t seen = 0;
    if (owned.empty()) return 0;
    for (std::size_t segments_tried = 0; seen < mailboxes_max && segments_tried <= owned.size(); ++segments_tried) {
        const std::uint32_t segment = owned[segment_index_ % owned.size()];
        auto page = mailbox_owners(store_, segment, next_user_, mailboxes_max - seen);
        if (!page) return seen;
        if (!page->users.empty()) next_user_ = page->users.back() + 1;
        for (std::uint64_t user : page->users) consider(segment, user, now_unix);
        seen += page->users.size();
        stats_.mailboxes_seen += page->users.size();
        if (page->complete) {
            ++segment_index_;
            next_user_ = 0;
        }
    }
    return seen;
}

void TrashPurge::consider(std::uint32_t segment, std::uint64_t user_id, std::int64_t now_unix) {
    const crypto::KeySet& keys = store_.keys();
    // The state record names its own key; the scope only matters for writing.
    auto state = mailbox_state(store_, store::MailboxRef{user_id, segment, crypto::Scope{}});
    if (!state || state->trash_count == 0) return;
    auto account = account_of(directory_, keys, user_id, store_.segment_count());
    if (!account) return;  // an account being closed: its own purge removes the mailbox
    ++stats_.purges_started;
    writes_.purge(account->mailbox, now_unix, retention_s_, [this, segment](Result<std::uint64_t> r) {
        if (!r) {
            log_event(LogLevel::warn, "store.trash_purge_failed", "segment={} error=\"{}\"", segment, r.error().message());
            return;
        }
        stats_.messages_purged += *r;
        if (*r > 0) log_event(LogLevel::info, "store.trash_purged", "segment={} messages={}", segment, *r);
    });
}

}  // namespace vmx
