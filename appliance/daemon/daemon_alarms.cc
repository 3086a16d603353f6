// vaultmxd's alarms: the built-in rules with [alarms] thresholds and the admin's own ([alarms]
// rules, over the families of GET /metrics), evaluated once a second on the control thread over
// every shard's counters, the control thread's and the gauges measured here (free disk, the log
// backlog, days left on the certificate). A change of state is an event: `alarm.firing` (error)
// and `alarm.resolved` (warn), so the collector gets it; `vaultmx alarms` shows the rest.
#include "appliance/daemon/daemon.h"

#include <fmt/format.h>

#include <algorithm>

#include "appliance/common/messages.h"
#include "appliance/config/alarm_rule_text.h"
#include "appliance/ops/metrics_families.h"
#include "core/clock.h"
#include "core/log.h"

namespace vmx {
namespace {

constexpr std::uint32_t five_minutes_s = 300;

AlarmRule rule(std::string name, std::vector<std::string> metrics, AlarmRule::Test test, double threshold,
               std::string help) {
    return AlarmRule{std::move(name), std::move(metrics), test, threshold, five_minutes_s, std::move(help)};
}

}  // namespace

std::vector<AlarmRule> builtin_alarm_rules(const AppLimits& l) {
    using T = AlarmRule::Test;
    return {
        rule("store_commit_failures", {"lane.failed_commits"}, T::increase, l.alarms_commit_failures_max,
             "store commits or syncs failed in the last 5 minutes"),
        rule("store_full", {"lane.map_full"}, T::increase, 0, "a store environment reached its size cap"),
        rule("delivery_failures", {"outbound.deferred", "outbound.bounced", "delivery.perm_failures"}, T::increase,
             l.alarms_delivery_failures_max, "deliveries deferred or failed in the last 5 minutes"),
        rule("queue_growth", {"outbound.queued", "delivery.queued"}, T::above, l.alarms_queue_max,
             "messages waiting in the inbound and outbound queues"),
        rule("disk_low", {"disk.free_percent"}, T::below, l.alarms_disk_free_percent_min,
             "free space in percent where the data folder is"),
        rule("log_shipping_backlog", {"log.backlog"}, T::above, l.alarms_shipping_backlog_max,
             "events in the spool the collector has not taken yet"),
        rule("log_spool_failures", {"log.unspooled"}, T::increase, 0,
             "events the sealed spool could not keep or is holding in memory"),
        rule("login_failure_spike", {"auth.login_failures"}, T::increase, l.alarms_login_failures_max,
             "failed logins on every port in the last 5 minutes"),
        rule("certificate_expiry", {"tls.certificate_days_left"}, T::below, l.alarms_certificate_days_min,
             "days until the TLS certificate expires"),
        rule("backup_too_old", {"backup.age_hours"}, T::above, l.alarms_backup_age_h_max,
             "hours since the newest scheduled backup was made ([backup] interval_h)"),
    };
}

std::variant<std::vector<AlarmRule>, std::string> alarm_rules(const Config& config) {
    std::vector<AlarmRule> rules = builtin_alarm_rules(config.limits);
    for (const std::string& text : config.alarm_rules) {
        auto parsed = parse_alarm_rule(text);
        if (auto* wrong = std::get_if<std::string>(&parsed)) return fmt::format("\"{}\": {}", text, *wrong);
        const AlarmRuleText& written = std::get<AlarmRuleText>(parsed);
        for (const AlarmRule& r : rules)
            if (r.name == written.name) return fmt::format("rule name {} is a built-in rule's", written.name);
        auto metrics = alarm_metrics(written.family, written.labels);
        if (auto* wrong = std::get_if<std::string>(&metrics)) return fmt::format("rule {}: {}", written.name, *wrong);
        using T = AlarmRule::Test;
        const T test = written.increase ? T::increase : written.above ? T::above : T::below;
        // The help is the rule itself, its quotes made single so that events can quote it.
        std::string help = format_alarm_rule(written);
        std::replace(help.begin(), help.end(), '"', '\'');
        rules.push_back(AlarmRule{written.name, std::get<std::vector<std::string>>(std::move(metrics)), test,
                                  written.threshold, written.increase ? written.window_s : five_minutes_s,
                                  std::move(help)});
    }
    return rules;
}

// The current value of a metric: summed over the shards' counters, or the control thread's, or
// measured here; nothing when no part reports it (a rule over it stays `unknown`).
std::optional<double> Daemon::metric_value(std::string_view name, const std::vector<CounterSnapshot>& shards,
                                           const CounterSnapshot& control) const {
    if (name == "disk.free_percent" || name == data_free_bytes_metric) {
        // Through the folder opened before the drop: the service user may not reach it by path.
        if (!data_space_) return std::nullopt;
        if (name == data_free_bytes_metric) {
            const auto bytes = data_space_->free_bytes();
            if (!bytes) return std::nullopt;
            return static_cast<double>(*bytes);
        }
        return data_space_->free_percent();
    }
    if (name == "backup.age_hours") {
        if (!backups_) return std::nullopt;
        return backups_->age_hours(static_cast<std::int64_t>(wall_us() / 1000000));
    }
    if (name == certificate_seconds_left_metric) {
        const std::int64_t expiry = soonest_certificate_expiry();
        if (expiry == 0) return std::nullopt;
        return static_cast<double>(expiry - static_cast<std::int64_t>(wall_us() / 1000000));
    }
    if (name == "log.backlog") {
        if (!shipper_) return std::nullopt;
        return static_cast<double>(spool_->next_sequence() - 1 - shipper_->confirmed());
    }
    if (name == "log.unspooled") {
        // Held events count only while the spool fails: between healthy commits some always wait.
        const std::size_t held = log_writer_ && log_writer_->failing() ? log_writer_->held() : 0;
        return static_cast<double>(spool_->dropped() + held);
    }
    if (name == "auth.login_failures") return static_cast<double>(auth_workers_->failed());
    if (name == "tls.certificate_days_left") {
        const std::int64_t expiry = soonest_certificate_expiry();
        if (expiry == 0) return std::nullopt;
        return static_cast<double>(expiry - static_cast<std::int64_t>(wall_us() / 1000000)) / 86400.0;
    }
    std::optional<double> total;
    for (const CounterSnapshot& counters : shards)
        for (const NamedCounter& c : counters.all())
            if (c.name == name) total = total.value_or(0) + static_cast<double>(c.value);
    for (const NamedCounter& c : control.all())
        if (c.name == name) total = total.value_or(0) + static_cast<double>(c.value);
    return total;
}

void Daemon::alarm_tick() {
    const std::int64_t now = static_cast<std::int64_t>(wall_us() / 1000000);
    if (now == last_alarm_tick_ || engine_->stop_requested()) return;  // once a second; not while draining
    last_alarm_tick_ = now;
    std::vector<CounterSnapshot> shards;
    for (std::uint32_t s = 0; s < admin_shards_->count(); ++s) shards.push_back(admin_shards_->counters(s));
    CounterSnapshot control;
    list_control_counters(control);
    const auto changes =
        alarms_->evaluate([&](std::string_view name) { return metric_value(name, shards, control); }, now);
    for (const AlarmChange& change : changes) {
        if (change.firing)
            log_event(LogLevel::error, "alarm.firing", "alarm={} value={:.6g} threshold={:.6g} help=\"{}\"", change.rule->name,
                      change.value, change.rule->threshold, change.rule->help);
        else
            log_event(LogLevel::warn, "alarm.resolved", "alarm={} value={:.6g}", change.rule->name, change.value);
        if (alarm_mail_) alarm_mail_->add(change, now);
    }
    send_alarm_mail(now);
}

// A due notice goes to shard 0, which queues it from the null sender (to the mailbox when mail_to
// is a local user, out through smtp-out otherwise); the reply says whether it is durable.
void Daemon::send_alarm_mail(std::int64_t now_unix) {
    if (!alarm_mail_) return;
    auto notice = alarm_mail_->due(now_unix, alarms_->status());
    if (!notice) return;
    const std::size_t changes = notice->changes;
    auto request = std::make_unique<NoticeMail>();
    request->to = config_.alarms_mail_to;
    request->subject = std::move(notice->subject);
    request->lines = std::move(notice->lines);
    Message m;
    m.kind = message_notice_mail;
    m.payload = std::move(request);
    auto mailed = [this, changes](Message& reply) {
        const auto* done = static_cast<const NoticeMailed*>(reply.payload.get());
        const bool queued = done != nullptr && done->queued;
        alarm_mail_->sent(queued, static_cast<std::int64_t>(wall_us() / 1000000));
        if (queued) log_event(LogLevel::info, "alarm.mailed", "changes={} queue_id={}", changes, done->queue_id);
        else log_event(LogLevel::error, "alarm.mail_failed", "changes={} error=\"not queued\"", changes);
    };
    if (!admin_shards_->calls().call(0, std::move(m), std::move(mailed))) {
        alarm_mail_->sent(false, now_unix);
        log_event(LogLevel::error, "alarm.mail_failed", "changes={} error=\"shard busy\"", changes);
    }
}

}  // namespace vmx
