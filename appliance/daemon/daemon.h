// vaultmxd's life: the start-up steps in order (the service account, log, master key, store,
// directory and audit, TLS, engine and listeners, admin socket, metrics endpoint, the privilege
// drop, then the threads), each failing with one line that names the setting; then the
// control loop until SIGTERM/SIGINT has drained the shards. The objects are members declared in
// the order they are made, so they are destroyed in reverse: nothing outlives what it refers to.
// Control (main) thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "appliance/acme/acme_schedule.h"
#include "appliance/admin/commands.h"
#include "appliance/admin/portal_commands.h"
#include "appliance/admin/server.h"
#include "appliance/audit/audit_log.h"
#include "appliance/auth/auth_workers.h"
#include "appliance/auth/ban_list.h"
#include "appliance/smtp/client_limits.h"
#include "appliance/mailauth/mailauth_workers.h"
#include "appliance/mailstore/store_readers.h"
#include "appliance/pop3/maildrop_leases.h"
#include "appliance/auth/login_recorder.h"
#include "appliance/auth/sessions.h"
#include "appliance/config/config.h"
#include "appliance/daemon/admin_shards.h"
#include "appliance/daemon/listeners.h"
#include "appliance/common/privilege_drop.h"
#include "appliance/delivery/outbound_options.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "appliance/ops/disk_space.h"
#include "appliance/ops/metrics_server.h"
#include "appliance/jobs/closure_purge.h"
#include "appliance/jobs/rewrap_control.h"
#include "appliance/keys/key_service.h"
#include "core/engine.h"
#include "appliance/lifecycle/backup_schedule.h"
#include "appliance/ops/alarm_mail.h"
#include "appliance/ops/alarms.h"
#include "appliance/ops/log_shipper.h"
#include "appliance/ops/log_spool.h"
#include "appliance/ops/spool_log_writer.h"
#include "core/log_sink.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_context_slot.h"
#include "store/layout.h"
#include "store/lmdb.h"
#include "store/segment_handles.h"
#include "store/shard_envs.h"

namespace vmx {

// A start-up step that failed: the line for stderr and the process's exit code.
struct StartFailure {
    std::string line;
    int exit_code = 1;
};

inline constexpr int exit_config = 2;   // a setting is wrong: restarting cannot help
inline constexpr int exit_runtime = 1;
inline StartFailure config_failure(std::string line) { return {std::move(line), exit_config}; }
inline StartFailure runtime_failure(std::string line) { return {std::move(line), exit_runtime}; }

// The built-in alarm rules with the [alarms] thresholds (daemon_alarms.cc).
std::vector<AlarmRule> builtin_alarm_rules(const AppLimits& limits);
// The built-in rules, then [alarms] rules resolved to the metrics they sum; or why one cannot be.
std::variant<std::vector<AlarmRule>, std::string> alarm_rules(const Config& config);

class Daemon {
public:
    explicit Daemon(const Config& config) : config_(config) {}
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Every start-up step, in order; the first that fails stops the rest.
    std::optional<StartFailure> start();
    // The control loop, until a stop has drained the shards. Returns the exit code.
    int run();

private:
    std::optional<StartFailure> open_account();
    std::optional<StartFailure> open_log();
    std::optional<StartFailure> open_keys();
    std::optional<StartFailure> open_spool();
    std::optional<StartFailure> open_shipper();
    void log_tick();
    void reload();
    void alarm_tick();
    void send_alarm_mail(std::int64_t now_unix);
    std::optional<double> metric_value(std::string_view name, const std::vector<CounterSnapshot>& shards,
                                       const CounterSnapshot& control) const;
    bool reload_tls(const Config& fresh);
    net::TlsServerOptions tls_server_options(const Config& config) const;
    std::optional<std::vector<std::vector<std::string>>> wanted_certificates() const;
    void open_acme();
    // The first expiry among the certificates served (the default's and the ACME CA's); 0: none known.
    std::int64_t soonest_certificate_expiry() const;
    void acme_tick();
    // A store shared with other nodes: their key changes (a new user's key, a rotation, a shredded
    // key) are taken up within a second.
    void follow_shared_keys();
    void finish_log();
    std::optional<StartFailure> own_store_folders();
    std::optional<StartFailure> open_globals();
    std::optional<StartFailure> ensure_account_keys();
    void start_account_migration();
    std::optional<StartFailure> open_tls();
    std::optional<StartFailure> open_outbound_tls();
    std::optional<StartFailure> open_engine();
    std::optional<StartFailure> make_mailauth();
    std::optional<StartFailure> adopt_passed_sockets();
    void load_dkim_keyring();
    std::optional<StartFailure> open_portal_socket();
    std::optional<StartFailure> open_admin();
    void open_closure_purge();
    void open_backup_schedule();
    void scrub_backups();
    std::optional<StartFailure> open_metrics();
    std::string render_metrics_now() const;
    void list_log_counters(CounterSnapshot& out) const;
    void list_control_counters(CounterSnapshot& out) const;
    std::optional<StartFailure> drop_privileges();
    std::optional<StartFailure> start_threads();
    void on_control_message(Message& m);
    void warn_without_tls() const;
    std::shared_ptr<const RelayCredentials> relay_credentials() const;

    const Config& config_;
    std::optional<ServiceAccount> account_;  // [service] user and group, resolved before anything opens
    // The spool outlives the shipper that reads it and the writer that fills it; the sink goes first
    // (its last drain still reaches the writer, which commits what it holds when it goes).
    std::unique_ptr<LogSpool> spool_;
    std::unique_ptr<LogShipper> shipper_;           // null: [log] ship_to unset
    std::unique_ptr<SpoolLogWriter> log_writer_;
    std::unique_ptr<LogSink> sink_;
    std::optional<crypto::SecretBytes> log_key_;    // from open_keys to open_spool
    std::uint64_t shipped_persisted_ = 0;           // the spool's "shipped" as last written
    std::uint64_t next_prune_ms_ = 0;
    std::uint64_t next_ship_mark_ms_ = 0;
    std::uint64_t next_keys_look_ms_ = 0;
    static constexpr std::uint64_t shared_keys_look_interval_ms = 1000;
    std::unique_ptr<Alarms> alarms_;                // built-in and [alarms] rules, evaluated once a second
    std::unique_ptr<AlarmMail> alarm_mail_;         // notices to [alarms] mail_to; null when unset
    std::int64_t last_alarm_tick_ = 0;
    std::string key_source_;
    std::optional<crypto::SecretBytes> index_key_;  // from open_keys to open_globals
    std::optional<store::StoreLayout> layout_;
    std::unique_ptr<KeyService> keys_;
    std::unique_ptr<store::Env> directory_env_;
    std::optional<Directory> directory_;
    std::unique_ptr<store::Env> audit_env_;
    std::optional<AuditLog> audit_;
    std::optional<LoginHistory> logins_;
    std::unique_ptr<LoginRecorder> recorder_;
    std::optional<BanRecords> ban_records_;
    std::optional<SupportGrants> support_grants_;  // support reveal windows (admin: support mailbox)
    std::unique_ptr<BanList> bans_;               // login bans: auth workers, login ports, admin
    std::unique_ptr<ClientLimits> client_limits_; // the MX's per-address counts
    std::unique_ptr<AcmeSchedule> acme_;              // null: [acme] directory unset
    std::vector<std::vector<std::string>> acme_wanted_;  // the name sets it keeps certificates for
    std::int64_t acme_wanted_at_ = 0;
    std::shared_ptr<const net::TlsServerContext> tls_;
    std::shared_ptr<net::TlsServerContextSlot> tls_slot_;  // what new sessions use; SIGHUP replaces it
    std::unique_ptr<Config> reloaded_;                       // the file as the last SIGHUP read it
    std::shared_ptr<const net::TlsClientContext> tls_out_;           // outbound STARTTLS, any certificate
    std::shared_ptr<const net::TlsClientContext> tls_out_verified_;   // outbound under `verify`
    std::unique_ptr<ListenerDeps> listener_deps_;
    std::optional<store::StoreEnvironments> segment_envs_;
    std::optional<store::StoreHandles> handles_;
    std::unique_ptr<AuthWorkers> auth_workers_;
    std::unique_ptr<MailAuthWorkers> mailauth_workers_;  // DKIM signing and the MX's checks; outlive the engine
    std::unique_ptr<MaildropLeases> maildrop_leases_;    // a shared store's POP3 locks; outlive the engine
    std::unique_ptr<StoreReaders> store_readers_;        // a shared store's reads; outlive the engine
    std::unique_ptr<Engine> engine_;
    SessionRegistry sessions_;
    std::optional<MailStoreView> mail_view_;
    std::unique_ptr<EngineAdminShards> admin_shards_;  // with the control thread's requests to shards
    std::unique_ptr<WorkerHasher> hasher_;       // the admin's password hashing, on the auth workers
    std::unique_ptr<AdminContext> admin_;
    std::unique_ptr<GlobalRewrap> global_rewrap_;     // the control thread's records, for RewrapControl
    std::unique_ptr<RewrapControl> rewrap_;
    std::unique_ptr<ClosurePurge> closure_;           // closed accounts' purge, on the control loop's tick
    bool account_migration_owed_ = false;             // records under plan scope keys may remain
    bool backup_scrub_owed_ = true;                   // shredded keys may remain in a backup's key store
    std::unique_ptr<BackupSchedule> backups_;         // [backup] interval_h; joins its copy before the envs go
    std::unique_ptr<AdminServer> admin_server_;
    std::unique_ptr<PortalSessions> portal_sessions_;  // the portal's signed-in users (daemon-held tokens)
    std::unique_ptr<PortalContext> portal_context_;
    std::unique_ptr<AdminServer> portal_server_;       // [portal] socket: the user-scoped commands
    std::optional<DiskSpace> data_space_;              // [paths] data, opened before the drop
    std::unique_ptr<MetricsServer> metrics_server_;    // [metrics] listen, on the control thread
};

}  // namespace vmx
