// Replies sent until taken (see shard_calls.h).
#include "appliance/common/shard_calls.h"

#include <algorithm>
#include <memory>

#include "core/log.h"

namespace vmx {

void ShardCalls::send_until_taken(std::uint32_t to, Message message, std::uint64_t delay_ms) {
    if (send_(to, std::move(message))) return;  // a refused send leaves the message as it was
    delay_ms = std::clamp<std::uint64_t>(delay_ms * 2, 1, reply_retry_max_ms_);
    ++replies_retried_;
    // NOLINTNEXTLINE(bugprone-use-after-move): send_ takes Message&& and moves it only when it accepts
    log_event(LogLevel::warn, "shard.send_delayed", "to={} kind={} retry_ms={}", to, static_cast<std::uint32_t>(message.kind),
              delay_ms);
    auto kept = std::make_shared<Message>(std::move(message));
    shard_.schedule(delay_ms, [this, to, kept, delay_ms](Shard&) { send_until_taken(to, std::move(*kept), delay_ms); });
}

}  // namespace vmx
