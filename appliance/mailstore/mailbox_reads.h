// Reads of a mailbox from any shard, through that shard's view of the store (MVCC snapshots, no
// locks): its state (the quota check of RCPT), its listing (POP3 at login, the admin), and a body
// pump that streams one message chunk by chunk, each chunk in its own short read transaction so a
// slow client never pins a snapshot. The ShardStore forms: the caller's shard thread; the view forms:
// any thread (the control thread, and a shared store's readers, store_readers.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "appliance/mailstore/shard_store.h"
#include "core/result.h"
#include "store/mailbox.h"
#include "store/segment_handles.h"
#include "store/shard_envs.h"

namespace vmx {

// The mail store as any thread reads it (every segment's environments and databases): what the
// control thread's listings use, and what a shard's reads go through.
struct MailStoreView {
    const store::StoreEnvironments& envs;
    const store::StoreHandles& handles;
    std::uint32_t segments() const noexcept { return handles.segments(); }
};
MailStoreView store_view(ShardStore& store);

Result<std::vector<store::MessageInfo>> list_mailbox(const MailStoreView& view, const crypto::KeySet& keys,
                                                     const store::MailboxRef& box,
                                                     store::ListTrash trash = store::ListTrash::exclude);

Result<store::MailboxState> mailbox_state(const MailStoreView& view, const crypto::KeySet& keys,
                                          const store::MailboxRef& box);
Result<store::MailboxState> mailbox_state(ShardStore& store, const store::MailboxRef& box);
Result<std::vector<store::MessageInfo>> list_mailbox(ShardStore& store, const store::MailboxRef& box,
                                                     store::ListTrash trash = store::ListTrash::exclude);

// A page of the users that have a mailbox in `segment`, from user id `from_user` on, at most `max`, in
// id order (one cursor seek per mailbox); `complete` when the segment holds no more.
struct MailboxOwners {
    std::vector<std::uint64_t> users;
    bool complete = false;
};
Result<MailboxOwners> mailbox_owners(const MailStoreView& view, std::uint32_t segment, std::uint64_t from_user,
                                     std::size_t max);
Result<MailboxOwners> mailbox_owners(ShardStore& store, std::uint32_t segment, std::uint64_t from_user, std::size_t max);

// Any thread that may read the view (a shard, or a store reader for a shard): one thread at a time.
class BodyPump {
public:
    // not_found for a message that is not there; the store's errors otherwise.
    static Result<BodyPump> open(const MailStoreView& view, const crypto::KeySet& keys, const store::MailboxRef& box,
                                 std::uint64_t message_id);
    static Result<BodyPump> open(ShardStore& store, const store::MailboxRef& box, std::uint64_t message_id);
    // The next decrypted chunk, or nullopt after the last one; `keys` as they are now (a key
    // shredded while a message streams ends the stream).
    Result<std::optional<std::vector<std::uint8_t>>> next(const crypto::KeySet& keys);

private:
    BodyPump(const store::StoreEnvironments& envs, std::uint32_t segment, store::BodyReader reader)
        : envs_(&envs), segment_(segment), reader_(std::move(reader)) {}
    const store::StoreEnvironments* envs_;
    std::uint32_t segment_;
    store::BodyReader reader_;
};

// Live ones first, then the trash, each in id (arrival) order, as `user mailbox --trash` lists them.
void order_live_then_trash(std::vector<store::MessageInfo>& messages);

}  // namespace vmx
