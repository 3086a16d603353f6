// Messages between the control thread and the shards above the core's own kinds. Each payload is
// an immutable value or snapshot moved through the mesh; the receiver downcasts by kind.
#pragma once

#include <memory>

#include "core/message.h"
#include "crypto/keyring.h"
#include "store/mailbox.h"

namespace vmx {

constexpr MessageKind message_keys_updated = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 1);

// control -> shard: the key snapshot to seal and open with from now on.
struct KeysUpdated final : MessagePayload {
    explicit KeysUpdated(std::shared_ptr<const crypto::KeySet> k) : keys(std::move(k)) {}
    std::shared_ptr<const crypto::KeySet> keys;
};

constexpr MessageKind message_mailbox_restore = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 2);
constexpr MessageKind message_mailbox_restored = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 3);

// control -> the mailbox's owner shard: move a message from trash back to the live mailbox.
struct MailboxRestore final : MessagePayload {
    store::MailboxRef box;
    std::uint64_t message_id = 0;
    std::uint64_t token = 0;  // names the admin request waiting for the answer
};

// owner shard -> control: how it went.
struct MailboxRestored final : MessagePayload {
    std::uint64_t token = 0;
    std::error_code error;
};

}  // namespace vmx
