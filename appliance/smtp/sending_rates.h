// SendingRates: each user's hourly submission limits (messages and recipients), counted in one
// place for the whole appliance: on the shard that owns the user's mailbox segment, wherever the
// submission session runs (the same owner rule as the POP3 maildrop lock). A session on another
// shard asks by message through ShardCalls; a request the owner cannot take is answered
// `unavailable` at once (the client gets a 4xx). Counting is a sliding hour: the current clock
// hour plus the previous one weighted by how much of it is still inside the last 60 minutes.
// Shard thread only. Memory: one small record per user who sent in the last two hours; records
// older than that are dropped when the table has doubled since the last sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "core/message.h"

namespace vmx {

class Shard;
class ShardCalls;

struct HourlyLimits {
    std::uint32_t messages = 0;    // per user per hour; 0: no limit
    std::uint32_t recipients = 0;  // per user per hour; 0: no limit
};

enum class RateOutcome : std::uint8_t { allowed, over, unavailable };
using RateDone = std::function<void(RateOutcome)>;

// The counting itself, on an explicit clock (the owner shard's; tests move their own).
class HourlyCounts {
public:
    // One message to `recipients` recipients: counted and true, or false (over a limit) and nothing counted.
    bool take(std::uint64_t user_id, std::uint32_t recipients, HourlyLimits limits, std::int64_t now_unix);
    std::size_t users() const noexcept { return windows_.size(); }

private:
    struct Window {
        std::int64_t hour_start = 0;  // the clock hour `messages` and `recipients` count
        std::uint64_t messages = 0, recipients = 0;
        std::uint64_t previous_messages = 0, previous_recipients = 0;
    };
    void sweep(std::int64_t now_unix);

    std::unordered_map<std::uint64_t, Window> windows_;  // by user id
    std::size_t sweep_at_ = 1024;
};

class SendingRates {
public:
    SendingRates(Shard& shard, ShardCalls& calls, std::uint32_t segments, std::function<std::int64_t()> now_unix);

    // ---- the session's shard ----
    // Counts one message to `recipients` recipients against the user's hour; `done` runs once (at
    // once when this shard is the owner). A refused message counts nothing.
    void reserve(std::uint64_t user_id, std::uint32_t recipients, HourlyLimits limits, RateDone done);

    // ---- the owner ----
    void on_message(Message& m);  // submission_rate requests addressed to this shard
    std::size_t users_tracked() const noexcept { return counts_.users(); }

private:
    Shard& shard_;
    ShardCalls& calls_;
    const std::uint32_t segments_;
    std::function<std::int64_t()> now_unix_;
    HourlyCounts counts_;  // the users this shard owns
};

}  // namespace vmx
