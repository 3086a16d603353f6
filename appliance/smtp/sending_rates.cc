// Hourly submission limits per user (see sending_rates.h).
#include "appliance/smtp/sending_rates.h"

#include <algorithm>
#include <memory>

#include "appliance/common/message_kinds.h"
#include "appliance/common/shard_calls.h"
#include "core/shard.h"
#include "store/layout.h"

namespace vmx {
namespace {

constexpr std::int64_t hour_s = 3600;

struct RateRequest final : MessagePayload {
    std::uint64_t user_id = 0;
    std::uint32_t recipients = 0;
    HourlyLimits limits;
};

// The previous hour's count still inside the last 60 minutes, in proportion.
std::uint64_t weighted(std::uint64_t previous, std::int64_t into_hour_s) {
    return previous * static_cast<std::uint64_t>(hour_s - into_hour_s) / hour_s;
}

}  // namespace

SendingRates::SendingRates(Shard& shard, ShardCalls& calls, std::uint32_t segments, std::function<std::int64_t()> now_unix)
    : shard_(shard), calls_(calls), segments_(segments), now_unix_(std::move(now_unix)) {}

void SendingRates::reserve(std::uint64_t user_id, std::uint32_t recipients, HourlyLimits limits, RateDone done) {
    if (limits.messages == 0 && limits.recipients == 0) return done(RateOutcome::allowed);
    const std::uint32_t owner = store::owner_shard(store::segment_of(user_id, segments_), shard_.shard_count());
    if (owner == shard_.id())
        return done(counts_.take(user_id, recipients, limits, now_unix_()) ? RateOutcome::allowed : RateOutcome::over);
    auto request = std::make_unique<RateRequest>();
    request->user_id = user_id;
    request->recipients = recipients;
    request->limits = limits;
    Message m;
    m.kind = message_kind(AppMessage::submission_rate);
    m.payload = std::move(request);
    auto shared_done = std::make_shared<RateDone>(std::move(done));
    auto called = calls_.call(owner, std::move(m), [shared_done](Message& reply) {
        (*shared_done)(reply.a == 1 ? RateOutcome::allowed : RateOutcome::over);
    });
    if (!called) (*shared_done)(RateOutcome::unavailable);
}

void SendingRates::on_message(Message& m) {
    if (!m.payload) return;
    const auto& request = *static_cast<const RateRequest*>(m.payload.get());
    Message reply;
    reply.a = counts_.take(request.user_id, request.recipients, request.limits, now_unix_()) ? 1 : 0;
    calls_.reply(m.from, m.token, std::move(reply));
}

bool HourlyCounts::take(std::uint64_t user_id, std::uint32_t recipients, HourlyLimits limits, std::int64_t now_unix) {
    if (windows_.size() >= sweep_at_) sweep(now_unix);
    const std::int64_t hour = now_unix - now_unix % hour_s;
    Window& w = windows_[user_id];
    if (w.hour_start != hour) {
        const bool adjacent = w.hour_start == hour - hour_s;
        w.previous_messages = adjacent ? w.messages : 0;
        w.previous_recipients = adjacent ? w.recipients : 0;
        w.messages = 0;
        w.recipients = 0;
        w.hour_start = hour;
    }
    const std::int64_t into = now_unix - hour;
    const std::uint64_t messages = w.messages + weighted(w.previous_messages, into) + 1;
    const std::uint64_t rcpts = w.recipients + weighted(w.previous_recipients, into) + recipients;
    if ((limits.messages > 0 && messages > limits.messages) || (limits.recipients > 0 && rcpts > limits.recipients))
        return false;
    ++w.messages;
    w.recipients += recipients;
    return true;
}

// Users idle for two clock hours have nothing left that counts.
void HourlyCounts::sweep(std::int64_t now_unix) {
    const std::int64_t hour = now_unix - now_unix % hour_s;
    std::erase_if(windows_, [hour](const auto& entry) { return entry.second.hour_start < hour - hour_s; });
    sweep_at_ = std::max<std::size_t>(1024, 2 * windows_.size());
}

}  // namespace vmx
