// Message: what one thread sends another (shard to shard, shard to control thread and back).
// A value moved through an SPSC queue; its payload, when present, is owned by the message.
#pragma once

#include <cstdint>
#include <memory>

namespace vmx {

// Payloads of larger messages derive from this; the receiver downcasts by `kind`.
struct MessagePayload {
    virtual ~MessagePayload() = default;
};

enum class MessageKind : std::uint32_t {
    stop = 1,        // control -> shard: stop accepting, drain, exit
    ping = 2,        // round-trip check: the receiver answers with pong
    pong = 3,
    user = 100,      // first kind free for the layers above core
};

struct Message {
    MessageKind kind = MessageKind::ping;
    std::uint32_t from = 0;            // sender's endpoint index (shard id, or the control index)
    std::uint64_t a = 0;               // small arguments that need no payload
    std::uint64_t b = 0;
    std::uint64_t token = 0;           // pairs a reply with its request (the layers above set it)
    std::unique_ptr<MessagePayload> payload;
};

}  // namespace vmx
