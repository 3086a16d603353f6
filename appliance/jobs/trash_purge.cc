// Trash purge (see trash_purge.h).
#include "appliance/jobs/trash_purge.h"

#include "core/log.h"
#include "store/mailbox.h"
#include "store/record_key.h"

namespace vmx {

std::size_t TrashPurge::run(std::int64_t now_unix, std::size_t mailboxes_max) {
    const auto& owned = store_.envs().segments();
    std::size_t seen = 0;
    if (owned.empty()) return 0;
    for (std::size_t segments_tried = 0; seen < mailboxes_max && segments_tried <= owned.size(); ++segments_tried) {
        const std::uint32_t segment = owned[segment_index_ % owned.size()];
        auto txn = store::ReadTxn::begin(*store_.envs().env(segment, store::SegmentKind::mail));
        if (!txn) return seen;
        auto cursor = store::Cursor::open(txn->raw(), store_.segment(segment).mailboxes);
        if (!cursor) return seen;
        std::vector<std::uint64_t> users;
        while (users.size() + seen < mailboxes_max) {
            const auto start = store::encode_record_key({next_user_, 0});
            auto entry = cursor->seek(start);
            if (!entry || !*entry) break;
            auto key = store::decode_record_key((*entry)->key);
            if (!key) break;
            users.push_back(key->owner);
            if (key->owner == UINT64_MAX) break;
            next_user_ = key->owner + 1;
        }
        const bool segment_finished = users.size() + seen < mailboxes_max;
        txn->reset();
        for (std::uint64_t user : users) consider(segment, user, now_unix);
        seen += users.size();
        stats_.mailboxes_seen += users.size();
        if (segment_finished) {
            ++segment_index_;
            next_user_ = 0;
        }
    }
    return seen;
}

void TrashPurge::consider(std::uint32_t segment, std::uint64_t user_id, std::int64_t now_unix) {
    const crypto::KeySet& keys = store_.keys();
    {
        auto txn = store::ReadTxn::begin(*store_.envs().env(segment, store::SegmentKind::mail));
        if (!txn) return;
        // The state record names its own key; the scope only matters for writing.
        const store::MailboxRef probe{user_id, segment, crypto::Scope{}};
        auto state = store::load_state(*txn, store_.segment(segment).mailboxes, keys, probe);
        if (!state || state->trash_count == 0) return;
    }
    auto txn = store::ReadTxn::begin(directory_env_);
    if (!txn) return;
    auto user = directory_.user(*txn, keys, user_id);
    if (!user) return;  // an account being closed: its own purge removes the mailbox
    auto org = directory_.org(*txn, keys, user->org_id);
    if (!org) return;
    const store::MailboxRef box{user_id, segment, crypto::scope_for(org->plan, org->id, user_id)};
    ++stats_.purges_started;
    writes_.purge(box, now_unix, retention_s_, [this, segment](Result<std::uint64_t> r) {
        if (!r) {
            log_event(LogLevel::warn, "store.trash_purge_failed", "segment={} error=\"{}\"", segment, r.error().message());
            return;
        }
        stats_.messages_purged += *r;
        if (*r > 0) log_event(LogLevel::info, "store.trash_purged", "segment={} messages={}", segment, *r);
    });
}

}  // namespace vmx
