// Messages between the control thread and the shards above the core's own kinds. Each payload is
// an immutable value or snapshot moved through the mesh; the receiver downcasts by kind.
#pragma once

#include <memory>

#include "core/message.h"
#include "crypto/keyring.h"

namespace vmx {

constexpr MessageKind message_keys_updated = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 1);

// control -> shard: the key snapshot to seal and open with from now on.
struct KeysUpdated final : MessagePayload {
    explicit KeysUpdated(std::shared_ptr<const crypto::KeySet> k) : keys(std::move(k)) {}
    std::shared_ptr<const crypto::KeySet> keys;
};

}  // namespace vmx
