// Messages between the control thread and the shards above the core's own kinds. Each payload is
// an immutable value or snapshot moved through the mesh; the receiver downcasts by kind.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "appliance/common/message_kinds.h"
#include "core/message.h"
#include "crypto/keyring.h"
#include "store/mailbox.h"

namespace vmx {


// control -> shard: the key snapshot to seal and open with from now on.
struct KeysUpdated final : MessagePayload {
    explicit KeysUpdated(std::shared_ptr<const crypto::KeySet> k) : keys(std::move(k)) {}
    std::shared_ptr<const crypto::KeySet> keys;
};


// control -> the mailbox's owner shard: move a message from trash back to the live mailbox.
struct MailboxRestore final : MessagePayload {
    store::MailboxRef box;
    std::uint64_t message_id = 0;
};

// owner shard -> control, as the reply: how it went.
struct MailboxRestored final : MessagePayload {
    std::error_code error;
};

// control -> the mailbox's owner shard: erase up to messages_max messages of a closed account's
// mailbox (jobs/closure_purge.h).
struct MailboxEraseStep final : MessagePayload {
    store::MailboxRef box;
    std::size_t messages_max = 0;
};

// owner shard -> control, as the reply: how many messages remain (0: the mailbox is gone).
struct MailboxEraseDone final : MessagePayload {
    std::error_code error;
    std::uint64_t remaining = 0;
};

// control -> a shard's delivery agent: deliver deferred smtp-out entries now (one, or all the shard
// holds), or delete one without delivering it (the admin's queue retry and queue delete).
struct QueueAction final : MessagePayload {
    bool remove = false;
    bool all = false;             // retry only: every entry of the shard
    std::uint32_t segment = 0;
    std::uint64_t entry_id = 0;
};

// shard -> control, as the reply.
struct QueueActionDone final : MessagePayload {
    std::error_code error;
    std::size_t entries = 0;      // retry: entries made due
};

// control -> a shard: mail the admin a notice (an alarm that fired or resolved).
struct NoticeMail final : MessagePayload {
    std::string to;
    std::string subject;
    std::vector<std::string> lines;
};

// shard -> control, as the reply.
struct NoticeMailed final : MessagePayload {
    bool queued = false;
    std::string queue_id;
};

}  // namespace vmx
