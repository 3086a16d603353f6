// vaultmxd's metrics step (see daemon.h): the Prometheus endpoint bound on [metrics] listen before
// the privilege drop, the data folder opened for its free space, and the scrape that gathers every
// shard's counters on the control thread.
#include <ctime>

#include "appliance/daemon/daemon.h"
#include "appliance/ops/metrics_families.h"
#include "core/log.h"

namespace vmx {

std::optional<StartFailure> Daemon::open_metrics() {
    if (auto space = DiskSpace::open(config_.data_dir)) data_space_.emplace(std::move(*space));
    else log_event(LogLevel::warn, "metrics.data_unreadable", "data=\"{}\" error=\"{}\"", config_.data_dir,
                   space.error().message());
    const AppLimits& l = config_.limits;
    MetricsServerOptions options;
    options.io_timeout_ms = l.metrics_io_timeout_ms;
    options.connections_max = l.metrics_connections_max;
    options.head = {l.metrics_request_line_bytes_max, l.metrics_head_bytes_max, l.metrics_header_fields_max};
    auto server = MetricsServer::open(config_.metrics_listen, [this] { return render_metrics_now(); }, options);
    if (!server)
        return config_failure("metrics.listen: cannot bind " + config_.metrics_listen + ": " + server.error().message());
    metrics_server_ = std::move(*server);
    return std::nullopt;
}

// The sealed log spool and its shipping: events kept, held in memory while the spool fails, dropped, and not yet confirmed by the
// collector (a backlog that grows is a collector away). Control thread.
void Daemon::list_log_counters(CounterSnapshot& out) const {
    if (!spool_) return;
    out.add("log.spool_bytes", spool_->bytes_used());
    out.add("log.spool_dropped", spool_->dropped());
    out.add("log.spool_held", log_writer_ && log_writer_->failing() ? log_writer_->held() : 0);
    if (!shipper_) return;
    shipper_->counters(out);
    const std::uint64_t last = spool_->next_sequence() - 1;
    const std::uint64_t confirmed = shipper_->confirmed();
    out.add("log.ship_backlog", last > confirmed ? last - confirmed : 0);
    out.add("log.ship_connected", shipper_->connected() ? 1 : 0);
}

// The control thread's own counters: the endpoint's, the login cache's, the log's. Control thread.
void Daemon::list_control_counters(CounterSnapshot& out) const {
    if (metrics_server_) metrics_server_->stats().list(out);
    const VerifiedLogins& cache = auth_workers_->verified_logins();
    out.add("auth.login_cache_hits", cache.hits());
    out.add("auth.login_cache_misses", cache.misses());
    list_log_counters(out);
}

// One scrape: every shard's counters (not once the drain began: a stopping shard tears down what
// they live in), the endpoint's own, the disk and the certificate. Control thread.
std::string Daemon::render_metrics_now() const {
    MetricsInputs in;
    if (!engine_->stop_requested())
        for (std::uint32_t s = 0; s < admin_shards_->count(); ++s) in.shards.push_back(admin_shards_->counters(s));
    list_control_counters(in.control);
    if (data_space_) in.data_free_bytes = data_space_->free_bytes();
    // The soonest expiry of what is served: a SIGHUP or a renewal that loads a new one moves the gauge.
    if (const std::int64_t expiry = soonest_certificate_expiry(); expiry != 0)
        in.certificate_seconds_left = expiry - static_cast<std::int64_t>(std::time(nullptr));
    in.version = VMX_VERSION;
    return render_metrics(in);
}

}  // namespace vmx
