// Alarm mail (see alarm_mail.h).
#include "appliance/ops/alarm_mail.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "core/log_sink.h"

namespace vmx {

void AlarmMail::add(const AlarmChange& change, std::int64_t now_unix) {
    if (waiting_.lines.size() >= changes_max) {
        ++waiting_.omitted;
        return;
    }
    if (waiting_.lines.empty()) {
        waiting_.first_name = change.rule->name;
        waiting_.first_firing = change.firing;
    }
    const std::string when = format_utc_seconds(now_unix);
    if (change.firing)
        waiting_.lines.push_back({true, fmt::format("{}  FIRING    {}  value {:.6g}, threshold {:.6g}: {}", when,
                                                    change.rule->name, change.value, change.rule->threshold,
                                                    change.rule->help)});
    else
        waiting_.lines.push_back({false, fmt::format("{}  resolved  {}  value {:.6g}", when, change.rule->name, change.value)});
}

std::optional<AlarmNotice> AlarmMail::due(std::int64_t now_unix, const std::vector<AlarmStatus>& status) {
    if (in_flight_ || waiting_.empty()) return std::nullopt;
    if (last_sent_ && now_unix - *last_sent_ < interval_s_) return std::nullopt;
    const Changes& c = waiting_;
    AlarmNotice notice;
    notice.changes = c.lines.size() + c.omitted;
    if (notice.changes == 1)
        notice.subject =
            fmt::format("[vaultmx {}] alarm {} {}", hostname_, c.first_name, c.first_firing ? "firing" : "resolved");
    else
        notice.subject = fmt::format("[vaultmx {}] {} alarm changes, {} firing", hostname_, notice.changes,
                                     std::count_if(c.lines.begin(), c.lines.end(), [](const auto& l) { return l.firing; }));
    notice.lines.push_back(fmt::format("Alarms on {} changed state (times in UTC):", hostname_));
    notice.lines.emplace_back();
    for (const auto& line : c.lines) notice.lines.push_back(line.text);
    if (c.omitted > 0)
        notice.lines.push_back(fmt::format("... and {} more changes (see: vaultmx logs show --event alarm)", c.omitted));
    notice.lines.emplace_back();
    std::vector<std::string> now_firing;
    for (const AlarmStatus& s : status)
        if (s.state == AlarmStatus::State::firing) now_firing.push_back(s.rule->name);
    notice.lines.push_back(now_firing.empty() ? std::string("Firing now: none.")
                                              : fmt::format("Firing now: {}.", fmt::join(now_firing, ", ")));
    notice.lines.emplace_back("See `vaultmx alarms` on the appliance for every rule.");
    in_flight_ = std::move(waiting_);
    waiting_ = Changes{};
    return notice;
}

void AlarmMail::sent(bool queued, std::int64_t now_unix) {
    if (!in_flight_) return;
    last_sent_ = now_unix;  // a failure waits the interval too: a broken queue is not hammered
    Changes lost = std::move(*in_flight_);
    in_flight_.reset();
    if (queued) return;
    // The lost notice's changes go back in front of those that came meanwhile, within the bound.
    for (auto& line : waiting_.lines) lost.lines.push_back(std::move(line));
    lost.omitted += waiting_.omitted;
    if (lost.lines.size() > changes_max) {
        lost.omitted += lost.lines.size() - changes_max;
        lost.lines.erase(lost.lines.begin() + static_cast<std::ptrdiff_t>(changes_max), lost.lines.end());
    }
    waiting_ = std::move(lost);
}

}  // namespace vmx
