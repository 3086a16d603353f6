// The metric families (see metrics_families.h). Counters and gauges are written per shard with a
// `shard` label; histograms are summed over the shards (their buckets add, and a per-shard
// latency split says little); the control thread's own values have no shard.
#include "appliance/ops/metrics_families.h"

#include <fmt/format.h>

#include <array>
#include <string_view>

#include "appliance/ops/exposition.h"

namespace vmx {
namespace {

// One series: a family, and the counter (by its listed name) with the labels that tell it apart
// from the family's other rows. Rows of one family stand together; the first carries the help.
struct Row {
    std::string_view family;
    MetricType type;
    std::string_view help;
    std::string_view counter;
    MetricLabel first = {};   // an empty name: no label
    MetricLabel second = {};
};

constexpr MetricType C = MetricType::counter;
constexpr MetricType G = MetricType::gauge;
constexpr MetricType H = MetricType::histogram;

// Written for every shard, labelled with it.
constexpr Row per_shard[] = {
    {"vaultmx_connections_accepted_total", C, "Connections accepted on every listener.", "shard.accepted"},
    {"vaultmx_connections_refused_total", C, "Connections refused because the shard had connections_per_shard_max.",
     "shard.refused_full"},
    {"vaultmx_connections_open", G, "Connections open now (every listener, outbound not included).", "shard.connections"},
    {"vaultmx_sessions_open", G, "Sessions open now, by listener.", "sessions.smtp.open", {"listener", "smtp"}},
    {"vaultmx_sessions_open", G, "", "sessions.submission.open", {"listener", "submission"}},
    {"vaultmx_sessions_open", G, "", "sessions.submission_tls.open", {"listener", "submission_tls"}},
    {"vaultmx_sessions_open", G, "", "sessions.pop3s.open", {"listener", "pop3s"}},
    {"vaultmx_tls_handshakes_total", C, "TLS handshakes completed, by listener.", "tls.smtp.handshakes", {"listener", "smtp"}},
    {"vaultmx_tls_handshakes_total", C, "", "tls.submission.handshakes", {"listener", "submission"}},
    {"vaultmx_tls_handshakes_total", C, "", "tls.submission_tls.handshakes", {"listener", "submission_tls"}},
    {"vaultmx_tls_handshakes_total", C, "", "tls.pop3s.handshakes", {"listener", "pop3s"}},
    {"vaultmx_tls_handshakes_total", C, "", "outbound.tls_sessions", {"listener", "outbound"}},
    {"vaultmx_tls_handshake_failures_total", C, "TLS handshakes that failed, by listener.", "tls.smtp.handshake_failures",
     {"listener", "smtp"}},
    {"vaultmx_tls_handshake_failures_total", C, "", "tls.submission.handshake_failures", {"listener", "submission"}},
    {"vaultmx_tls_handshake_failures_total", C, "", "tls.submission_tls.handshake_failures", {"listener", "submission_tls"}},
    {"vaultmx_tls_handshake_failures_total", C, "", "tls.pop3s.handshake_failures", {"listener", "pop3s"}},
    {"vaultmx_tls_handshake_failures_total", C, "", "outbound.tls_failures", {"listener", "outbound"}},
    {"vaultmx_logins_total", C, "Logins that succeeded, by protocol.", "login.pop3.ok", {"protocol", "pop3"}},
    {"vaultmx_logins_total", C, "", "login.submission.ok", {"protocol", "submission"}},
    {"vaultmx_logins_total", C, "", "login.portal.ok", {"protocol", "portal"}},
    {"vaultmx_login_failures_total", C, "Logins refused, by protocol and reason.", "login.pop3.bad_credentials",
     {"protocol", "pop3"}, {"reason", "bad_credentials"}},
    {"vaultmx_login_failures_total", C, "", "login.pop3.temp_failure", {"protocol", "pop3"}, {"reason", "temp_failure"}},
    {"vaultmx_login_failures_total", C, "", "login.pop3.disabled", {"protocol", "pop3"}, {"reason", "disabled"}},
    {"vaultmx_login_failures_total", C, "", "login.pop3.policy_denied", {"protocol", "pop3"}, {"reason", "policy_denied"}},
    {"vaultmx_login_failures_total", C, "", "login.submission.bad_credentials", {"protocol", "submission"},
     {"reason", "bad_credentials"}},
    {"vaultmx_login_failures_total", C, "", "login.submission.temp_failure", {"protocol", "submission"},
     {"reason", "temp_failure"}},
    {"vaultmx_login_failures_total", C, "", "login.submission.disabled", {"protocol", "submission"}, {"reason", "disabled"}},
    {"vaultmx_login_failures_total", C, "", "login.submission.policy_denied", {"protocol", "submission"},
     {"reason", "policy_denied"}},
    {"vaultmx_login_failures_total", C, "", "login.portal.bad_credentials", {"protocol", "portal"},
     {"reason", "bad_credentials"}},
    {"vaultmx_login_failures_total", C, "", "login.portal.temp_failure", {"protocol", "portal"}, {"reason", "temp_failure"}},
    {"vaultmx_login_failures_total", C, "", "login.portal.disabled", {"protocol", "portal"}, {"reason", "disabled"}},
    {"vaultmx_login_failures_total", C, "", "login.portal.policy_denied", {"protocol", "portal"}, {"reason", "policy_denied"}},
    {"vaultmx_messages_accepted_total", C, "Messages accepted (durable, 250 sent), by queue.", "delivery.accepted",
     {"queue", "inbound"}},
    {"vaultmx_messages_accepted_total", C, "", "outbound.accepted", {"queue", "outbound"}},
    {"vaultmx_queue_messages", G, "Messages in the queues now.", "delivery.queued", {"queue", "inbound"}},
    {"vaultmx_queue_messages", G, "", "outbound.queued", {"queue", "outbound"}},
    {"vaultmx_deliveries_total", C, "Recipients delivered: to a local mailbox, or accepted by the remote server.",
     "delivery.delivered", {"path", "local"}},
    {"vaultmx_deliveries_total", C, "", "outbound.delivered", {"path", "outbound"}},
    {"vaultmx_delivery_failures_total", C, "Recipients not delivered: deferred (retried later), failed or bounced.",
     "delivery.temp_failures", {"path", "local"}, {"kind", "deferred"}},
    {"vaultmx_delivery_failures_total", C, "", "delivery.perm_failures", {"path", "local"}, {"kind", "failed"}},
    {"vaultmx_delivery_failures_total", C, "", "outbound.deferred", {"path", "outbound"}, {"kind", "deferred"}},
    {"vaultmx_delivery_failures_total", C, "", "outbound.bounced", {"path", "outbound"}, {"kind", "bounced"}},
    {"vaultmx_outbound_connections_total", C, "Outbound SMTP connections opened.", "outbound.connections"},
    {"vaultmx_outbound_failures_total", C, "Outbound delivery steps that failed, by stage.", "outbound.dns_failures",
     {"stage", "dns"}},
    {"vaultmx_outbound_failures_total", C, "", "outbound.connect_failures", {"stage", "connect"}},
    {"vaultmx_outbound_failures_total", C, "", "outbound.write_failures", {"stage", "write"}},
    {"vaultmx_store_writes_total", C, "Store writes committed through the shard's store lane.", "lane.writes"},
    {"vaultmx_store_commits_total", C, "Store transactions the lane attempted (group commits).", "lane.commits"},
    {"vaultmx_store_commit_failures_total", C, "Store commits that failed (nothing in them was acknowledged).",
     "lane.failed_commits"},
    {"vaultmx_store_sync_failures_total", C,
     "Store commits whose write or fsync failed with an I/O error (the environment is reopened).", "lane.sync_failures"},
    {"vaultmx_store_disk_full_total", C, "Store commits that failed because the disk was full.", "lane.disk_full"},
    {"vaultmx_store_map_full_total", C, "Store writes refused at the largest map size.", "lane.map_full"},
    {"vaultmx_store_reopens_total", C, "Store environments reopened after a failure.", "lane.reopens"},
    {"vaultmx_sweeps_total", C, "Background sweeps run, by job.", "store.sweeps", {"job", "temp"}},
    {"vaultmx_sweeps_total", C, "", "markers.passes", {"job", "markers"}},
    {"vaultmx_sweep_failures_total", C, "Background sweeps that failed, by job.", "store.sweep_failures", {"job", "temp"}},
    {"vaultmx_sweep_failures_total", C, "", "markers.failures", {"job", "markers"}},
};

// Summed over the shards.
constexpr Row histograms[] = {
    {"vaultmx_smtp_data_reply_seconds", H, "Seconds from the end of DATA to the 250 reply (the write made durable).",
     "smtp.mx.data_reply", {"listener", "smtp"}},
    {"vaultmx_smtp_data_reply_seconds", H, "", "smtp.submission.data_reply", {"listener", "submission"}},
    {"vaultmx_outbound_delivery_seconds", H, "Seconds to deliver one message to a remote server, from connect to its reply.",
     "outbound.delivery"},
    {"vaultmx_login_seconds", H, "Seconds a login took to decide (the throttle's delay excluded).", "login.pop3",
     {"protocol", "pop3"}},
    {"vaultmx_login_seconds", H, "", "login.submission", {"protocol", "submission"}},
    {"vaultmx_store_commit_seconds", H, "Seconds one store group commit took, fsync included.", "lane.commit"},
};

// The control thread's own.
constexpr Row control[] = {
    {"vaultmx_metrics_scrapes_total", C, "Scrapes of this endpoint answered 200.", "metrics.scrapes"},
    {"vaultmx_metrics_refused_total", C, "Requests to this endpoint refused, by reason.", "metrics.refused_requests",
     {"reason", "request"}},
    {"vaultmx_metrics_refused_total", C, "", "metrics.refused_connections", {"reason", "connections_max"}},
    {"vaultmx_metrics_refused_total", C, "", "metrics.timed_out", {"reason", "timeout"}},
    {"vaultmx_login_cache_hits_total", C, "Logins verified from the cache, without Argon2id.", "auth.login_cache_hits"},
    {"vaultmx_login_cache_misses_total", C, "Logins that needed Argon2id.", "auth.login_cache_misses"},
    {"vaultmx_log_spool_bytes", G, "Bytes the sealed log spool takes on disk.", "log.spool_bytes"},
    {"vaultmx_log_spool_dropped_total", C, "Log events the spool could not keep.", "log.spool_dropped"},
    {"vaultmx_log_spool_held", G, "Log events waiting in memory while the spool fails.", "log.spool_held"},
    {"vaultmx_log_shipped_total", C, "Log events sent to the collector ([log] ship_to).", "log.shipped"},
    {"vaultmx_log_ship_backlog", G, "Log events in the spool the collector has not confirmed.", "log.ship_backlog"},
    {"vaultmx_log_ship_connected", G, "1 while a TLS connection to the collector is up.", "log.ship_connected"},
    {"vaultmx_log_ship_failures_total", C, "Shipping steps that failed, by stage.", "log.ship_connect_failures",
     {"stage", "connect"}},
    {"vaultmx_log_ship_failures_total", C, "", "log.ship_send_failures", {"stage", "send"}},
};

// The labels a row names, after `lead` (the shard) when there is one.
std::size_t labels_of(const Row& r, const MetricLabel* lead, std::array<MetricLabel, 3>& out) {
    std::size_t n = 0;
    if (lead != nullptr) out[n++] = *lead;
    if (!r.first.name.empty()) out[n++] = r.first;
    if (!r.second.name.empty()) out[n++] = r.second;
    return n;
}

bool starts_family(std::span<const Row> rows, std::size_t i) { return i == 0 || rows[i - 1].family != rows[i].family; }

void write_per_shard(ExpositionWriter& w, const std::vector<CounterSnapshot>& shards) {
    const std::span<const Row> rows(per_shard);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (starts_family(rows, i)) w.family(r.family, r.type, r.help);
        for (std::size_t s = 0; s < shards.size(); ++s) {
            const std::string shard = std::to_string(s);
            const MetricLabel lead{"shard", shard};
            std::array<MetricLabel, 3> labels;
            const std::size_t n = labels_of(r, &lead, labels);
            w.sample(MetricLabels(labels.data(), n), shards[s][r.counter]);
        }
    }
}

void write_histograms(ExpositionWriter& w, const std::vector<CounterSnapshot>& shards) {
    const std::span<const Row> rows(histograms);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (starts_family(rows, i)) w.family(r.family, r.type, r.help);
        DurationCounts sum;
        for (const CounterSnapshot& s : shards) sum += s.histogram(r.counter);
        std::array<MetricLabel, 3> labels;
        const std::size_t n = labels_of(r, nullptr, labels);
        w.histogram(MetricLabels(labels.data(), n), sum);
    }
}

void write_control(ExpositionWriter& w, const MetricsInputs& in) {
    const std::span<const Row> rows(control);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (starts_family(rows, i)) w.family(r.family, r.type, r.help);
        std::array<MetricLabel, 3> labels;
        const std::size_t n = labels_of(r, nullptr, labels);
        w.sample(MetricLabels(labels.data(), n), in.control[r.counter]);
    }
    w.family("vaultmx_build_info", G, "Always 1; the running version in its label.");
    w.sample({{"version", in.version}}, std::uint64_t{1});
    w.family("vaultmx_shards", G, "Shards serving (0 while the daemon drains).");
    w.sample({}, static_cast<std::uint64_t>(in.shards.size()));
    if (in.data_free_bytes) {
        w.family("vaultmx_data_free_bytes", G, "Bytes free for the daemon on the file system of [paths] data.");
        w.sample({}, *in.data_free_bytes);
    }
    if (in.certificate_seconds_left) {
        w.family("vaultmx_tls_certificate_expiry_seconds", G,
                 "Seconds until the first served certificate expires ([tls] cert or one from the ACME CA; "
                 "negative once expired; /86400 for days).");
        w.sample({}, static_cast<double>(*in.certificate_seconds_left));
    }
}

bool row_has(const Row& r, std::string_view label, std::string_view value) {
    return (r.first.name == label && r.first.value == value) || (r.second.name == label && r.second.value == value);
}
bool row_names(const Row& r, std::string_view label) { return r.first.name == label || r.second.name == label; }

}  // namespace

std::variant<std::vector<std::string>, std::string> alarm_metrics(
    std::string_view family, std::span<const std::pair<std::string, std::string>> labels) {
    if (family == "vaultmx_data_free_bytes" || family == "vaultmx_tls_certificate_expiry_seconds") {
        if (!labels.empty()) return fmt::format("{} has no labels", family);
        return std::vector<std::string>{std::string(family == "vaultmx_data_free_bytes" ? data_free_bytes_metric
                                                                                        : certificate_seconds_left_metric)};
    }
    for (const Row& r : histograms)
        if (r.family == family) return fmt::format("{} is a histogram; alarms watch counters and gauges", family);
    bool known = false;
    bool per_shard_family = false;
    std::vector<std::string> matched;
    const auto consider = [&](std::span<const Row> rows, bool shard_rows) {
        for (const Row& r : rows) {
            if (r.family != family) continue;
            known = true;
            per_shard_family = shard_rows;
            bool all = true;
            for (const auto& [label, value] : labels) all = all && row_has(r, label, value);
            if (all) matched.emplace_back(r.counter);
        }
    };
    consider(per_shard, true);
    consider(control, false);
    if (!known) return fmt::format("{} is not a family of GET /metrics that an alarm can watch", family);
    for (const auto& [label, value] : labels) {
        if (label == "shard" && per_shard_family) return std::string("alarms sum over the shards: match no shard label");
        bool named = false;
        for (const Row& r : per_shard) named = named || (r.family == family && row_names(r, label));
        for (const Row& r : control) named = named || (r.family == family && row_names(r, label));
        if (!named) return fmt::format("{} has no label {}", family, label);
    }
    if (matched.empty()) return fmt::format("no series of {} matches those labels", family);
    return matched;
}

std::string render_metrics(const MetricsInputs& inputs) {
    ExpositionWriter w;
    write_per_shard(w, inputs.shards);
    write_histograms(w, inputs.shards);
    write_control(w, inputs);
    return w.take();
}

}  // namespace vmx
