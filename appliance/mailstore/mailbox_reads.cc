// Mailbox reads from any shard (see mailbox_reads.h).
#include "appliance/mailstore/mailbox_reads.h"

#include <algorithm>

#include "store/errc.h"
#include "store/layout.h"
#include "store/lmdb.h"
#include "store/record_key.h"

namespace vmx {
namespace {

Result<store::ReadTxn> begin_mail(const store::StoreEnvironments& envs, std::uint32_t segment) {
    return store::ReadTxn::begin(*envs.env(segment, store::SegmentKind::mail));
}


}  // namespace

MailStoreView store_view(ShardStore& store) { return MailStoreView{store.all_envs(), store.handles()}; }

Result<store::MailboxState> mailbox_state(const MailStoreView& view, const crypto::KeySet& keys,
                                          const store::MailboxRef& box) {
    auto txn = begin_mail(view.envs, box.segment);
    if (!txn) return fail(txn.error());
    return store::load_state(*txn, view.handles.segment(box.segment).mailboxes, keys, box);
}

Result<store::MailboxState> mailbox_state(ShardStore& store, const store::MailboxRef& box) {
    return mailbox_state(store_view(store), store.keys(), box);
}

Result<std::vector<store::MessageInfo>> list_mailbox(const MailStoreView& view, const crypto::KeySet& keys,
                                                     const store::MailboxRef& box, store::ListTrash trash) {
    auto txn = store::ReadTxn::begin(*view.envs.env(box.segment, store::SegmentKind::mail));
    if (!txn) return fail(txn.error());
    return store::list_messages(*txn, view.handles.segment(box.segment).mailboxes, keys, box, trash);
}

Result<std::vector<store::MessageInfo>> list_mailbox(ShardStore& store, const store::MailboxRef& box,
                                                     store::ListTrash trash) {
    return list_mailbox(store_view(store), store.keys(), box, trash);
}

Result<MailboxOwners> mailbox_owners(ShardStore& store, std::uint32_t segment, std::uint64_t from_user, std::size_t max) {
    return mailbox_owners(store_view(store), segment, from_user, max);
}

Result<MailboxOwners> mailbox_owners(const MailStoreView& view, std::uint32_t segment, std::uint64_t from_user,
                                     std::size_t max) {
    MailboxOwners out;
    auto txn = begin_mail(view.envs, segment);
    if (!txn) return fail(txn.error());
    auto cursor = store::Cursor::open(*txn, view.handles.segment(segment).mailboxes);
    if (!cursor) return fail(cursor.error());
    std::uint64_t next = from_user;
    while (out.users.size() < max) {
        auto entry = cursor->seek(store::encode_record_key({next, 0}));
        if (!entry) return fail(entry.error());
        if (!*entry) break;
        auto key = store::decode_record_key((*entry)->key);
        if (!key) return fail(store::StoreErrc::corrupt);
        out.users.push_back(key->owner);
        if (key->owner == UINT64_MAX) break;
        next = key->owner + 1;
    }
    out.complete = out.users.size() < max;
    return out;
}

Result<BodyPump> BodyPump::open(const MailStoreView& view, const crypto::KeySet& keys, const store::MailboxRef& box,
                                std::uint64_t message_id) {
    auto txn = begin_mail(view.envs, box.segment);
    if (!txn) return fail(txn.error());
    auto reader = store::BodyReader::open(*txn, view.handles.segment(box.segment).mailboxes, keys, box, message_id);
    if (!reader) return fail(reader.error());
    return BodyPump(view.envs, box.segment, std::move(*reader));
}

Result<BodyPump> BodyPump::open(ShardStore& store, const store::MailboxRef& box, std::uint64_t message_id) {
    return open(store_view(store), store.keys(), box, message_id);
}

Result<std::optional<std::vector<std::uint8_t>>> BodyPump::next(const crypto::KeySet& keys) {
    auto txn = begin_mail(*envs_, segment_);
    if (!txn) return fail(txn.error());
    return reader_.next(*txn, keys);
}

void order_live_then_trash(std::vector<store::MessageInfo>& messages) {
    std::stable_sort(messages.begin(), messages.end(), [](const store::MessageInfo& a, const store::MessageInfo& b) {
        const bool a_live = a.state == store::MessageState::live;
        const bool b_live = b.state == store::MessageState::live;
        if (a_live != b_live) return a_live;
        return a.id < b.id;
    });
}

}  // namespace vmx
