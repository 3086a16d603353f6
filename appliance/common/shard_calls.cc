// Replies sent until taken (see shard_calls.h).
#include "appliance/common/shard_calls.h"

#include <algorithm>
#include <memory>

#include "core/log.h"

namespace vmx {

void ShardCalls::send_reply(std::uint32_t to, std::uint64_t token, Message reply, std::uint64_t delay_ms) {
    reply.kind = message_kind(AppMessage::reply);
    reply.token = token;
    if (send_(to, std::move(reply))) return;  // a refused send leaves the reply as it was
    delay_ms = std::clamp<std::uint64_t>(delay_ms * 2, 1, reply_retry_max_ms_);
    ++replies_retried_;
    log_event(LogLevel::warn, "shard.reply_delayed", "to={} retry_ms={}", to, delay_ms);
    auto kept = std::make_shared<Message>(std::move(reply));
    shard_.schedule(delay_ms, [this, to, token, kept, delay_ms](Shard&) { send_reply(to, token, std::move(*kept), delay_ms); });
}

}  // namespace vmx
