// Alarm rules (see alarms.h).
#include "appliance/ops/alarms.h"

#include <utility>

namespace vmx {

std::string_view name_of(AlarmStatus::State state) noexcept {
    switch (state) {
        case AlarmStatus::State::unknown: return "unknown";
        case AlarmStatus::State::ok: return "ok";
        case AlarmStatus::State::firing: return "firing";
    }
    return "unknown";
}

Alarms::Alarms(std::vector<AlarmRule> rules) : rules_(std::move(rules)), samples_(rules_.size()) {
    status_.reserve(rules_.size());
    for (const AlarmRule& r : rules_) status_.push_back(AlarmStatus{&r});
}

std::vector<AlarmChange> Alarms::evaluate(const ValueOf& value_of, std::int64_t now_unix) {
    std::vector<AlarmChange> changes;
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const AlarmRule& rule = rules_[i];
        AlarmStatus& status = status_[i];
        std::optional<double> total;
        for (const std::string& metric : rule.metrics)
            if (const auto v = value_of(metric)) total = total.value_or(0) + *v;
        if (!total) {
            status.state = AlarmStatus::State::unknown;
            samples_[i].clear();
            continue;
        }
        double value = *total;
        bool firing = false;
        switch (rule.test) {
            case AlarmRule::Test::increase: {
                auto& samples = samples_[i];
                samples.push_back({now_unix, *total});
                while (samples.size() > 1 && samples.front().at < now_unix - static_cast<std::int64_t>(rule.window_s))
                    samples.pop_front();
                value = *total - samples.front().value;
                firing = value > rule.threshold;
                break;
            }
            case AlarmRule::Test::above: firing = value > rule.threshold; break;
            case AlarmRule::Test::below: firing = value < rule.threshold; break;
        }
        status.value = value;
        const auto next = firing ? AlarmStatus::State::firing : AlarmStatus::State::ok;
        if (next == status.state) continue;
        // From unknown to ok is no news; every other change is.
        if (next == AlarmStatus::State::firing || status.state == AlarmStatus::State::firing)
            changes.push_back(AlarmChange{&rule, firing, value});
        status.state = next;
        status.since_unix = now_unix;
    }
    return changes;
}

}  // namespace vmx
