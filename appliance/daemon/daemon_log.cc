// vaultmxd's logging steps: stderr for start-up, then the sealed spool under [log] dir, and the
// shipper to [log] ship_to. Until the spool is open (it needs the master key) events wait in memory
// and go to stderr, so a start-up error is still seen where the daemon was started.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "appliance/common/service_account.h"
#include "appliance/config/next_hop.h"
#include "appliance/daemon/daemon.h"
#include "core/clock.h"
#include "core/log.h"

namespace vmx {
namespace {

constexpr std::uint64_t prune_interval_ms = 60'000;
constexpr std::uint64_t ship_mark_interval_ms = 1000;
constexpr std::uint64_t final_ship_wait_ms = 3000;  // at a stop, for the collector to take the last events

}  // namespace

std::optional<StartFailure> Daemon::open_log() {
    LogLevel level = LogLevel::info;
    parse_log_level(config_.log_level, level);  // validated by the config loader
    set_log_level(level);
    auto sink = LogSink::open("", LogEcho::none);  // stderr until the spool takes over
    if (!sink) return config_failure("log: " + sink.error().message());
    sink_ = std::move(*sink);
    return std::nullopt;
}

std::optional<StartFailure> Daemon::open_spool() {
    std::error_code ec;
    std::filesystem::create_directories(config_.log_dir, ec);
    if (ec) return config_failure("log.dir: cannot create " + config_.log_dir + ": " + ec.message());
    LogSpoolOptions options;
    options.retention_days = config_.limits.log_retention_days;
    options.bytes_max = std::uint64_t{config_.limits.log_spool_mib_max} << 20;
    options.shipping = !config_.log_ship_to.empty();
    const std::string folder = config_.log_dir + "/spool";
    auto spool = LogSpool::open(folder, std::move(*log_key_), options);
    log_key_.reset();
    if (!spool) return config_failure("log.dir: cannot open the log spool " + folder + ": " + spool.error().message());
    spool_ = std::move(*spool);
    if (auto failed = own_tree(folder, *account_)) return config_failure("service.user: " + *failed);
    auto shipped = spool_->shipped();
    if (!shipped) return runtime_failure("log: cannot read the spool's shipping mark: " + shipped.error().message());
    shipped_persisted_ = *shipped;
    log_writer_ = std::make_unique<SpoolLogWriter>(*spool_, LogOrigin{config_.hostname, "vaultmxd", static_cast<std::uint32_t>(getpid())});
    sink_->set_writer(log_writer_.get());
    sink_->set_echo(config_.limits.log_echo_stderr ? LogEcho::stderr_too : LogEcho::none);
    auto rules = alarm_rules(config_);
    if (auto* wrong = std::get_if<std::string>(&rules)) return config_failure("alarms.rules: " + *wrong);
    alarms_ = std::make_unique<Alarms>(std::get<std::vector<AlarmRule>>(std::move(rules)));
    if (!config_.alarms_mail_to.empty())
        alarm_mail_ = std::make_unique<AlarmMail>(config_.hostname, config_.limits.alarms_mail_interval_s);
    return open_shipper();
}

// The TLS client for the collector, built now (certificates are read before the drop).
std::optional<StartFailure> Daemon::open_shipper() {
    if (config_.log_ship_to.empty()) return std::nullopt;
    const auto hop = parse_next_hop(config_.log_ship_to, 6514);  // checked by the config loader
    if (!hop) return config_failure("log.ship_to: " + config_.log_ship_to + ": not host:port");
    net::TlsClientOptions tls;
    tls.verify = net::TlsVerify::peer;
    tls.ca_file = config_.log_ship_ca;
    tls.certificate = net::TlsCertificatePaths{config_.log_ship_cert, config_.log_ship_key};
    tls.session_resumption = false;
    std::string detail;
    auto context = net::TlsClientContext::create(tls, detail);
    if (!context) return config_failure("log.ship_ca: " + (detail.empty() ? context.error().message() : detail));
    LogShipperOptions options;
    options.host = hop->host;
    options.port = hop->port;
    shipper_ = std::make_unique<LogShipper>(*spool_, std::move(*context), options, shipped_persisted_);
    log_writer_->set_shipper(shipper_.get());
    return std::nullopt;
}

// Control thread, every tick: the alarms; once a second the shipper's progress into the spool (so
// a restart resumes after it; each write is a sync); once a minute, retention.
void Daemon::log_tick() {
    alarm_tick();
    const std::uint64_t now = monotonic_ms();
    if (shipper_ && shipper_->confirmed() != shipped_persisted_ && now >= next_ship_mark_ms_) {
        next_ship_mark_ms_ = now + ship_mark_interval_ms;
        if (spool_->set_shipped(shipper_->confirmed())) shipped_persisted_ = shipper_->confirmed();
    }
    if (now < next_prune_ms_) return;
    next_prune_ms_ = now + prune_interval_ms;
    auto pruned = spool_->prune(wall_us());
    if (!pruned)
        log_event(LogLevel::error, "log.prune_failed", "error={}", pruned.error().message());
    else if (*pruned > 0)
        log_event(LogLevel::info, "log.pruned", "events={} retention_days={}", *pruned, config_.limits.log_retention_days);
}

// After the shards have stopped: the last events into the spool, a moment for the shipper to hand
// them over, and its mark saved.
void Daemon::finish_log() {
    sink_->drain();
    log_writer_->commit();
    if (!shipper_) return;
    const std::uint64_t deadline = monotonic_ms() + final_ship_wait_ms;
    while (shipper_->connected() && shipper_->confirmed() + 1 < spool_->next_sequence() && monotonic_ms() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    shipper_->stop();
    if (spool_->set_shipped(shipper_->confirmed())) shipped_persisted_ = shipper_->confirmed();
}

}  // namespace vmx
