// Alarms: rules over the appliance's counters and gauges, evaluated by the control thread once a
// second. A rule fires when its metric (the sum of the named counters or gauges, over every shard)
//   rises by more than `threshold` within `window_s` (Test::increase: failures, deferrals), or
//   is above / below `threshold` (Test::above, Test::below: queues, free disk, certificate days).
// A rule whose metric nobody reports yet is `unknown`, never firing. Each change of state is
// returned once, for the caller to log as `alarm.firing` / `alarm.resolved` (so the collector gets
// it); status() is what `vaultmx alarms` shows. Pure apart from the clock it is given; control
// thread only. Bounded: a rule keeps at most window_s + 1 samples (one a second).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmx {

struct AlarmRule {
    enum class Test : std::uint8_t { increase, above, below };
    std::string name;                  // "store_commit_failures"
    std::vector<std::string> metrics;  // summed: {"outbound.queued", "delivery.queued"}
    Test test = Test::increase;
    double threshold = 0;
    std::uint32_t window_s = 300;      // Test::increase only
    std::string help;                  // one line for `vaultmx alarms`
};

struct AlarmChange {
    const AlarmRule* rule = nullptr;
    bool firing = false;  // false: resolved
    double value = 0;
};

struct AlarmStatus {
    const AlarmRule* rule = nullptr;
    enum class State : std::uint8_t { unknown, ok, firing } state = State::unknown;
    double value = 0;            // the increase in the window, or the level
    std::int64_t since_unix = 0; // when the state began
};

std::string_view name_of(AlarmStatus::State state) noexcept;  // "unknown", "ok", "firing"

class Alarms {
public:
    using ValueOf = std::function<std::optional<double>(std::string_view metric)>;
    explicit Alarms(std::vector<AlarmRule> rules);

    // One evaluation at `now_unix` with the current value of each metric (nullopt: not reported).
    std::vector<AlarmChange> evaluate(const ValueOf& value_of, std::int64_t now_unix);
    const std::vector<AlarmStatus>& status() const noexcept { return status_; }
    const std::vector<AlarmRule>& rules() const noexcept { return rules_; }

private:
    struct Sample {
        std::int64_t at = 0;
        double value = 0;
    };
    std::vector<AlarmRule> rules_;
    std::vector<AlarmStatus> status_;
    std::vector<std::deque<Sample>> samples_;
};

}  // namespace vmx
