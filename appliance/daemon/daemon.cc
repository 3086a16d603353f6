// vaultmxd's start-up steps and control loop (see daemon.h).
#include "appliance/daemon/daemon.h"
#include "core/hex_text.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <thread>

#include "appliance/common/message_kinds.h"
#include "appliance/common/messages.h"
#include "appliance/daemon/admin_shards.h"
#include "appliance/daemon/shard_wiring.h"
#include "appliance/keys/key_setup.h"
#include "core/clock.h"
#include "core/control_loop.h"
#include "core/log.h"
#include "core/patterns.h"
#include "crypto/aead.h"
#include "crypto/errc.h"
#include "crypto/master_key.h"
#include "store/errc.h"

namespace vmx {
namespace {


std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }


void raise_descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// A changed relayhost password is offered to a shard whose inbox is full this many times, 1 ms apart.
constexpr int relay_auth_send_attempts = 1000;

// ---- each part's options from the config table's rows ----

smtp::Limits smtp_limits(const AppLimits& l) {
    smtp::Limits out;
    out.message_bytes_max = l.smtp_message_bytes_max;
    out.recipients_max = l.smtp_recipients_max;
    out.errors_max = l.smtp_errors_max;
    out.hop_count_max = l.smtp_hop_count_max;
    return out;
}

// The mailbox RCPT TO:<Postmaster> reaches (RFC 5321 4.5.1).
std::string postmaster_of(const Config& config) {
    return config.postmaster.empty() ? "postmaster@" + config.hostname : config.postmaster;
}

// 587 and 465 share every setting but how TLS begins.
SubmissionSettings submission_settings(const Config& config, std::shared_ptr<const net::TlsServerContext> tls,
                                       smtp::Transport transport) {
    const AppLimits& l = config.limits;
    SubmissionSettings out;
    out.limits.message_bytes_max = l.submission_message_bytes_max;
    out.limits.recipients_max = l.submission_recipients_max;
    out.limits.errors_max = l.submission_errors_max;
    out.limits.auth_failures_max = l.submission_auth_failures_max;
    out.limits.hop_count_max = l.smtp_hop_count_max;
    out.postmaster = postmaster_of(config);
    out.options.hostname = config.hostname;
    out.options.mode = smtp::Mode::submission;
    out.options.transport = transport;
    out.options.starttls = transport == smtp::Transport::tls ? smtp::StartTls::unavailable : smtp::StartTls::required;
    out.tls = std::move(tls);
    out.hide_client_address = l.submission_hide_client_address;
    out.hourly = {l.submission_messages_per_hour, l.submission_recipients_per_hour};
    return out;
}

pop3::Limits pop3_limits(const AppLimits& l) {
    pop3::Limits out;
    out.errors_max = l.pop3_errors_max;
    out.auth_failures_max = l.pop3_auth_failures_max;
    out.messages_max = l.pop3_messages_max;
    return out;
}

// On a store shared by nodes the 250 waits for the mailboxes: what a node acknowledged is readable
// from every node, even if it dies the next moment.
DeliveryOptions delivery_options(const AppLimits& l, bool shared_store) {
    DeliveryOptions out;
    out.retry = {l.delivery_retry_first_s, l.delivery_retry_max_s, l.delivery_lifetime_s};
    out.removal_batch_ms = l.delivery_removal_batch_ms;
    out.answer_after_hand_off = shared_store;
    return out;
}

smtp::TlsPolicy tls_policy_of(std::string_view level) {
    if (level == "none") return smtp::TlsPolicy::none;
    if (level == "encrypt") return smtp::TlsPolicy::encrypt;
    if (level == "verify") return smtp::TlsPolicy::verify;
    return smtp::TlsPolicy::may;
}

// [delivery] resolver's servers ("IP:PORT", comma-separated; checked by the config), for every
// DNS look-up: delivery's and the MX's checks'.
std::vector<std::string> resolver_servers(const Config& config) {
    std::vector<std::string> out;
    std::string_view rest = config.delivery_resolver;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string one(rest.substr(0, comma));
        one.erase(0, one.find_first_not_of(' '));
        one.erase(one.find_last_not_of(' ') + 1);
        if (!one.empty()) out.push_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return out;
}

std::string authserv_id(const Config& config) {
    return config.mailauth_authserv_id.empty() ? config.hostname : config.mailauth_authserv_id;
}

bool mx_checks_on(const AppLimits& l) { return l.mailauth_check_spf || l.mailauth_check_dkim || l.mailauth_check_dmarc; }

MailAuthOptions mailauth_options(const Config& config) {
    const AppLimits& l = config.limits;
    MailAuthOptions out;
    out.threads = l.mailauth_workers;
    out.queue_max = l.mailauth_queue_max;
    out.sign = l.mailauth_sign;
    CheckSettings& c = out.checks;
    c.authserv_id = authserv_id(config);
    c.spf = l.mailauth_check_spf;
    c.dkim = l.mailauth_check_dkim;
    c.dmarc = l.mailauth_check_dmarc;
    c.refuse_on_reject = config.mailauth_dmarc_reject == "refuse";
    c.dns_lookups_max = l.mailauth_dns_lookups_max;
    c.time_max_ms = l.mailauth_time_max_ms;
    c.dns_cache_ms = std::uint64_t{l.delivery_dns_cache_s} * 1000;
    c.dkim_options = {l.mailauth_dkim_signatures_max, l.mailauth_dkim_key_bits_min};
    c.resolver.servers = resolver_servers(config);
    c.resolver.query_timeout_ms = l.mailauth_dns_timeout_ms;
    return out;
}

OutboundOptions outbound_options(const Config& config, std::shared_ptr<const net::TlsClientContext> opportunistic,
                                 std::shared_ptr<const net::TlsClientContext> verified,
                                 std::shared_ptr<const RelayCredentials> relay_auth) {
    const AppLimits& l = config.limits;
    OutboundOptions out;
    out.helo = config.hostname;
    out.resolvers = resolver_servers(config);
    out.mx_port = static_cast<std::uint16_t>(l.delivery_mx_port);
    for (const auto& [domain, hop] : config.delivery_routes) out.routes.emplace(domain, hop);
    if (!config.delivery_relayhost.empty()) out.relayhost = parse_next_hop(config.delivery_relayhost);
    out.relay_user = config.delivery_relayhost_user;
    out.relay_tls = tls_policy_of(config.delivery_relayhost_tls);
    out.body_cache_bytes_max = std::uint64_t{l.delivery_body_cache_mib} << 20;
    out.tls = tls_policy_of(config.delivery_tls);
    for (const auto& [domain, level] : config.delivery_tls_policies) out.tls_policies.emplace(domain, tls_policy_of(level));
    out.relay_auth = std::move(relay_auth);
    out.tls_opportunistic = std::move(opportunistic);
    out.tls_verified = std::move(verified);
    out.retry = {l.delivery_retry_first_s, l.delivery_retry_max_s, l.delivery_lifetime_s};
    out.client.reply_lines_max = l.delivery_reply_lines_max;
    out.client.reply_line_bytes_max = l.delivery_reply_line_bytes_max;
    out.connect_timeout_ms = l.delivery_connect_timeout_s * 1000;
    out.reply_timeout_ms = l.delivery_reply_timeout_s * 1000;
    out.session_timeout_ms = l.delivery_session_timeout_s * 1000;
    out.connections_max = l.delivery_connections_max;
    out.concurrency_initial = l.delivery_concurrency_initial;
    out.concurrency_max = std::max(l.delivery_concurrency_max, l.delivery_concurrency_initial);
    out.messages_per_connection = l.delivery_messages_per_connection;
    out.dead_backoff_ms = l.delivery_dead_backoff_s * 1000;
    out.dns_cache_ms = l.delivery_dns_cache_s * 1000;
    return out;
}

MarkerCleanupOptions marker_cleanup_options(const AppLimits& l) {
    return {std::uint64_t{l.delivery_marker_sweep_s} * 1000, l.delivery_marker_sweep_max};
}

AuthWorkerOptions auth_options(const Config& config) {
    const AppLimits& l = config.limits;
    AuthWorkerOptions out;
    out.argon2 = config.argon2;
    out.threads = l.auth_workers;
    out.queue_max = l.auth_queue_max;
    out.throttle.window_s = l.auth_throttle_window_s;
    out.throttle.address_free_failures = l.auth_address_free_failures;
    out.throttle.address_refuse_failures = l.auth_address_refuse_failures;
    out.throttle.user_free_failures = l.auth_user_free_failures;
    out.throttle.delay_base_ms = l.auth_delay_base_ms;
    out.throttle.delay_max_ms = l.auth_delay_max_ms;
    out.throttle.entries_max = l.auth_throttle_entries_max;
    out.login_cache.ttl_s = l.auth_login_cache_ttl_s;
    out.login_cache.entries_max = l.auth_login_cache_entries_max;
    return out;
}

ShardStoreOptions shard_store_options(const store::StoreSizing& sizing) {
    ShardStoreOptions out;
    out.sweep_interval_ms = std::uint64_t{sizing.sweep_interval_s} * 1000;
    out.lane.queue_capacity = sizing.lane_queue_capacity;
    out.lane.batch_requests_max = sizing.lane_batch_requests_max;
    out.lane.batch_bytes_max = std::size_t{sizing.lane_batch_mib_max} << 20;
    return out;
}

}  // namespace

Daemon::~Daemon() {
    if (recorder_) recorder_->flush();
}

std::optional<StartFailure> Daemon::start() {
    for (auto step : {&Daemon::open_account, &Daemon::open_log, &Daemon::open_keys, &Daemon::open_spool, &Daemon::open_globals,
                      &Daemon::ensure_account_keys,
                      &Daemon::open_tls, &Daemon::open_engine, &Daemon::open_admin, &Daemon::open_metrics,
                      &Daemon::drop_privileges, &Daemon::start_threads})
        if (auto failed = (this->*step)()) return failed;
    return std::nullopt;
}

// The global environments: directory (with the login history) and audit.
std::optional<StartFailure> Daemon::open_globals() {
    const std::string directory_path = layout_->path(store::GlobalKind::directory);
    auto directory_env = layout_->open_env(store::GlobalKind::directory);
    if (!directory_env) return runtime_failure("store: cannot open " + directory_path + ": " + directory_env.error().message());
    directory_env_ = std::move(*directory_env);
    auto directory = Directory::open(*directory_env_, std::move(*index_key_));
    index_key_.reset();
    if (!directory)
        return runtime_failure("store: cannot open the directory in " + directory_path + ": " + directory.error().message());
    directory_.emplace(std::move(*directory));
    auto logins = LoginHistory::open(*directory_env_);
    if (!logins)
        return runtime_failure("store: cannot open the login history in " + directory_path + ": " + logins.error().message());
    logins_.emplace(std::move(*logins));
    recorder_ = std::make_unique<LoginRecorder>(*logins_, *keys_, std::int64_t{config_.store.sizing.login_history_days} * 86400);
    auto ban_records = BanRecords::open(*directory_env_);
    if (!ban_records)
        return runtime_failure("store: cannot open the bans in " + directory_path + ": " + ban_records.error().message());
    ban_records_.emplace(std::move(*ban_records));
    auto support_grants = SupportGrants::open(*directory_env_);
    if (!support_grants)
        return runtime_failure("store: cannot open the support grants in " + directory_path + ": " +
                               support_grants.error().message());
    support_grants_.emplace(std::move(*support_grants));
    // Windows that closed while the daemon was down go now (each support command sweeps too).
    if (auto swept = support_grants_->erase_expired(*keys_->snapshot(), now_unix(), support_grants_swept_max); !swept)
        log_event(LogLevel::warn, "support.sweep_failed", "error=\"{}\"", swept.error().message());
    const AppLimits& l = config_.limits;
    bans_ = std::make_unique<BanList>(
        BanOptions{l.limits_ban_failures, l.limits_ban_window_s, l.limits_ban_duration_s, l.limits_bans_max,
                   NetworkList::parse(config_.exempt_networks)},
        &*ban_records_, keys_->snapshot());
    if (auto r = bans_->load(now_unix()); !r)
        return runtime_failure("store: cannot read the bans in " + directory_path + ": " + r.error().message());
    client_limits_ = std::make_unique<ClientLimits>(ClientLimitOptions{
        l.limits_client_connections_max, l.limits_client_connections_per_minute, l.limits_client_messages_per_minute,
        l.limits_client_recipients_per_minute, l.limits_clients_tracked_max, NetworkList::parse(config_.exempt_networks)});

    const std::string audit_path = layout_->path(store::GlobalKind::audit);
    auto audit_env = layout_->open_env(store::GlobalKind::audit);
    if (!audit_env) return runtime_failure("store: cannot open " + audit_path + ": " + audit_env.error().message());
    audit_env_ = std::move(*audit_env);
    auto audit = AuditLog::open(*audit_env_, keys_->snapshot(), AuditCreate::never);
    if (!audit)
        return config_failure("store: cannot open the audit log in " + audit_path + ": " + audit.error().message() +
                              " (a folder from an older version: run vaultmx -c FILE init once)");
    audit_.emplace(std::move(*audit));
    return std::nullopt;
}

// The segments, the auth workers, the engine with one ShardContext per shard, and the listeners
// bound (a second daemon fails here, on its ports, before it could take the admin socket over).
std::optional<StartFailure> Daemon::open_engine() {
    listener_deps_ = std::make_unique<ListenerDeps>(
        ListenerDeps{config_, *directory_, tls_, {}, {}, {}, {}, smtp_parts_of, pop3_parts_of, submission_parts_of});
    listener_deps_->smtp.limits = smtp_limits(config_.limits);
    listener_deps_->pop3.limits = pop3_limits(config_.limits);
    listener_deps_->smtp.options.hostname = config_.hostname;
    listener_deps_->smtp.options.starttls = tls_ ? smtp::StartTls::offered : smtp::StartTls::unavailable;
    listener_deps_->smtp.tls = tls_;
    listener_deps_->smtp.authserv_id = authserv_id(config_);
    listener_deps_->smtp.postmaster = postmaster_of(config_);
    listener_deps_->smtp.client_limits = client_limits_.get();
    listener_deps_->smtp.greet_wait_ms = config_.limits.limits_greet_wait_ms;
    listener_deps_->pop3.bans = bans_.get();
    listener_deps_->smtp.refuse_unauthenticated_local =
        config_.limits.mailauth_check_dmarc && config_.mailauth_dmarc_reject == "refuse";
    listener_deps_->pop3.tls = tls_;
    listener_deps_->submission = submission_settings(config_, tls_, smtp::Transport::plain);
    listener_deps_->submission_tls = submission_settings(config_, tls_, smtp::Transport::tls);
    listener_deps_->submission.bans = bans_.get();
    listener_deps_->submission_tls.bans = bans_.get();
    // New sessions take the certificate a SIGHUP loaded last (reload_tls).
    for (auto* slot : {&listener_deps_->smtp.tls_slot, &listener_deps_->pop3.tls_slot,
                       &listener_deps_->submission.tls_slot, &listener_deps_->submission_tls.tls_slot})
        *slot = tls_slot_;

    auto segment_envs = store::StoreEnvironments::open(*layout_);
    if (!segment_envs)
        return runtime_failure("store: cannot open the segments in " + config_.data_dir + ": " + segment_envs.error().message());
    segment_envs_.emplace(std::move(*segment_envs));
    store::TempOptions temp_options;
    temp_options.ttl_s = config_.store.sizing.temp_ttl_s;
    auto handles = store::StoreHandles::open(*segment_envs_, temp_options);
    if (!handles)
        return runtime_failure("store: cannot open the segment databases in " + config_.data_dir + ": " + handles.error().message());
    handles_.emplace(std::move(*handles));

    raise_descriptor_limit();
    // A shard writes only the segments it owns, so there are never more shards than segments.
    EngineConfig engine_config = config_.engine;
    if (engine_config.shards == 0) engine_config.shards = default_shard_count();
    if (engine_config.shards > layout_->segments()) {
        log_event(LogLevel::warn, "engine.shards_capped", "asked={} segments={} (each shard needs a segment to own)",
                  engine_config.shards, layout_->segments());
        engine_config.shards = layout_->segments();
    }
    engine_ = std::make_unique<Engine>(engine_config, listener_specs(*listener_deps_), sink_.get(), on_shard_message);

    // Passwords are checked by the auth workers, never on a shard thread; they outlive the engine.
    auth_workers_ = std::make_unique<AuthWorkers>(auth_options(config_), engine_->shard_count());
    auth_workers_->set_bans(bans_.get());
    if (auto r = make_mailauth(); r) return r;
    // On a shared store a maildrop lock is also a lease in the cluster (renewed each third of it).
    const std::uint32_t lease_ms = config_.limits.rados_lease_s * 1000;
    auto leases = MaildropLeases::open(*layout_, engine_->shard_count(), store::LeaseOptions{lease_ms, lease_ms / 3, 4096});
    if (!leases) return runtime_failure("store: cannot open the cluster's leases: " + leases.error().message());
    maildrop_leases_ = std::move(*leases);
    // On a shared store the shards' reads go to reader threads: a round trip never stalls a shard.
    if (layout_->shared(store::GlobalKind::keys) && config_.limits.rados_readers > 0)
        store_readers_ = std::make_unique<StoreReaders>(
            StoreReaderOptions{config_.limits.rados_readers, config_.limits.rados_read_queue_max}, engine_->shard_count());

    const store::StoreSizing& sizing = config_.store.sizing;
    engine_->set_shard_local(ShardBuilder{*segment_envs_, *handles_, shard_store_options(sizing), keys_->snapshot(),
                                          *directory_, *auth_workers_, *mailauth_workers_,
                                          mx_checks_on(config_.limits),
                                          std::int64_t{sizing.trash_retention_days} * 86400,
                                          MailboxWritesOptions{sizing.delivery_batch_ms}, delivery_options(config_.limits, layout_->shared(store::GlobalKind::keys)),
                                          outbound_options(config_, tls_out_, tls_out_verified_, relay_credentials()),
                                          BounceOptions{config_.hostname, config_.limits.delivery_bounce_headers_bytes_max, {}},
                                          marker_cleanup_options(config_.limits), config_.limits.reply_retry_max_ms,
                                          maildrop_leases_.get(), store_readers_.get()});
    // Signals are blocked before the ports open: a stop that arrives as soon as a client can
    // connect is then a clean drain, not the default action.
    block_control_signals();
    if (auto failed = adopt_passed_sockets()) return failed;
    if (auto bind_error = engine_->bind())
        return config_failure("listen." + bind_error->listener + ": cannot bind " + bind_error->address + ": " +
                              bind_error->error.message());
    return std::nullopt;
}

// The admin socket and what its commands reach, then the engine starts.
std::optional<StartFailure> Daemon::open_admin() {
    hasher_ = std::make_unique<WorkerHasher>(*auth_workers_);
    admin_ = std::make_unique<AdminContext>(AdminContext{*directory_, *keys_, *hasher_});
    admin_->log = spool_.get();
    admin_->flush_log = [this] {
        if (!log_writer_) return;
        sink_->drain();
        log_writer_->commit();
    };
    admin_->alarms = alarms_.get();
    AdminContext& admin = *admin_;
    Engine& engine = *engine_;
    admin.now_unix = now_unix;
    admin.audit = &*audit_;
    admin.sessions = &sessions_;
    admin.logins = recorder_.get();
    admin.verified_logins = &auth_workers_->verified_logins();
    admin.dkim_retire_days = config_.limits.mailauth_dkim_retire_days;
    admin.bans = bans_.get();
    admin.support_grants = &*support_grants_;
    admin.support_reveal_window_s = config_.limits.support_reveal_window_s;
    mail_view_.emplace(MailStoreView{*segment_envs_, *handles_});
    admin.mail = &*mail_view_;
    std::vector<std::string> listener_names;
    for (const ListenerConfig& l : config_.listeners) listener_names.push_back(l.name);
    admin_shards_ = std::make_unique<EngineAdminShards>(engine, std::move(listener_names));
    admin.shards = admin_shards_.get();
    global_rewrap_ = std::make_unique<GlobalRewrap>(*directory_env_, &*audit_);
    rewrap_ = std::make_unique<RewrapControl>(
        *keys_, engine.shard_count(),
        [&engine](std::uint32_t shard, Message m) { return engine.control_send(shard, std::move(m)).has_value(); },
        global_rewrap_.get());
    admin.rewrap = rewrap_.get();
    open_closure_purge();
    open_backup_schedule();
    admin.closure = closure_.get();
    admin.acme = acme_.get();
    admin.closure_purge_days = config_.limits.lifecycle_closure_purge_days;
    auto server = AdminServer::open(config_.admin_socket, [&admin](const AdminRequest& request, const AdminPeer& peer,
                                                                   AdminResponder respond) {
        const std::string command = request.command;
        const std::uint32_t uid = peer.uid;
        run_admin_command(admin, request, peer, [command, uid, respond = std::move(respond)](AdminReply reply) {
            log_event(reply.status == AdminStatus::ok ? LogLevel::info : LogLevel::warn, "admin.command",
                      "uid={} command=\"{}\" status={}", uid, command, static_cast<int>(reply.status));
            respond(std::move(reply));
        });
    }, AdminServerOptions{config_.limits.admin_io_timeout_ms, config_.limits.admin_reply_timeout_ms,
                          config_.limits.admin_connections_max});
    if (!server)
        return config_failure("admin.socket: cannot listen on " + config_.admin_socket + ": " + server.error().message() +
                              " (does its folder exist? vaultmx -c FILE init creates it)");
    admin_server_ = std::move(*server);
    if (auto failed = open_portal_socket()) return failed;
    load_dkim_keyring();
    // A changed DKIM key reaches the signers; a changed relayhost password every shard's delivery
    // agent (new sessions use it).
    keys_->on_secret_changed([this](std::string_view name) {
        if (name.starts_with(dkim_secret_prefix)) return load_dkim_keyring();
        if (name != "relayhost") return;
        auto auth = relay_credentials();
        // Every shard must hear of it (a missed one would keep the old password until a restart): a
        // full inbox is tried again for a while; the admin command waits that long at most.
        for (std::uint32_t shard = 0; shard < engine_->shard_count(); ++shard) {
            bool sent = false;
            for (int attempt = 0; attempt < relay_auth_send_attempts && !sent; ++attempt) {
                auto payload = std::make_unique<RelayAuthUpdated>();
                payload->auth = auth;
                Message m;
                m.kind = message_relay_auth;
                m.payload = std::move(payload);
                sent = engine_->control_send(shard, std::move(m)).has_value();
                if (!sent) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            if (!sent) log_event(LogLevel::error, "delivery.relay_auth_dropped", "shard={} (restart to apply)", shard);
        }
    });
    return std::nullopt;
}

// The mail-authentication workers: their libraries and resolvers are built before the shards serve,
// and the DKIM keys loaded (their threads start after the drop). Signing and checking never run on a
// shard.
std::optional<StartFailure> Daemon::make_mailauth() {
    const MailAuthOptions options = mailauth_options(config_);
    if (options.checks.dmarc) {
        if (auto r = init_dmarc_library(default_suffix_list); !r)
            return runtime_failure(std::string("mailauth: cannot read the public suffix list ") + default_suffix_list +
                                   ": " + r.error().message() + " (install the publicsuffix package)");
    }
    mailauth_workers_ = std::make_unique<MailAuthWorkers>(options, engine_->shard_count());
    return std::nullopt;  // the DKIM keys are loaded with the admin socket, before the engine starts
}

// Every dkim/ secret opened again, the active keys handed to the signers. Control thread.
void Daemon::load_dkim_keyring() {
    auto keys = load_dkim_keys(*keys_);
    if (!keys) {
        log_event(LogLevel::error, "mailauth.dkim_keys_unreadable", "error=\"{}\"", keys.error().message());
        return;
    }
    const std::size_t count = keys->size();
    auto keyring = dkim_keyring_of(std::move(*keys));
    log_event(LogLevel::info, "mailauth.dkim_keys", "keys={} signing_domains={}", count, keyring->by_domain.size());
    mailauth_workers_->set_keyring(std::move(keyring));
}

// The relayhost's AUTH credentials: [delivery] relayhost_user and the appliance secret "relayhost"
// (sealed in the keys environment); null when either is missing. Control thread.
std::shared_ptr<const RelayCredentials> Daemon::relay_credentials() const {
    if (config_.delivery_relayhost_user.empty()) return nullptr;
    auto secret = keys_->appliance_secret("relayhost");
    if (!secret) {
        log_event(LogLevel::error, "delivery.relay_secret_unreadable", "error=\"{}\"", secret.error().message());
        return nullptr;
    }
    if (!*secret) {
        log_event(LogLevel::warn, "delivery.relay_secret_missing",
                  "relayhost_user=set secret=absent (set it with: vaultmx secret set relayhost)");
        return nullptr;
    }
    auto credentials = std::make_shared<RelayCredentials>();
    credentials->username = config_.delivery_relayhost_user;
    credentials->password = std::move(**secret);
    return credentials;
}

// Messages the shards send the control thread: one table, as the shards' own (shard_wiring.cc).
void Daemon::on_control_message(Message& m) {
    using Handler = void (*)(Daemon&, Message&);
    struct Route {
        AppMessage kind;
        Handler handler;
    };
    static constexpr Route routes[] = {
        {AppMessage::session_started,
         [](Daemon& d, Message& msg) {
             if (msg.payload) d.sessions_.started(std::move(static_cast<SessionStarted*>(msg.payload.get())->info));
         }},
        {AppMessage::session_ended, [](Daemon& d, Message& msg) { d.sessions_.ended(msg.from, msg.a); }},
        {AppMessage::login_attempt,
         [](Daemon& d, Message& msg) {
             if (msg.payload) d.recorder_->add(std::move(static_cast<LoginAttempt*>(msg.payload.get())->event));
         }},
        {AppMessage::rewrap_progress,
         [](Daemon& d, Message& msg) {
             if (msg.payload) d.rewrap_->on_report(msg.from, *static_cast<RewrapReport*>(msg.payload.get()));
         }},
        {AppMessage::reply, [](Daemon& d, Message& msg) { d.admin_shards_->calls().on_reply(msg); }},
    };
    for (const Route& r : routes)
        if (message_kind(r.kind) == m.kind) return r.handler(*this, m);
    log_event(LogLevel::warn, "control.message_unrouted", "kind={} from={}", static_cast<std::uint32_t>(m.kind), m.from);
}

// Without a certificate the daemon runs, but says what its clients miss.
void Daemon::warn_without_tls() const {
    if (tls_) return;
    const auto configured = [this](std::string_view name) {
        return std::any_of(config_.listeners.begin(), config_.listeners.end(),
                           [name](const ListenerConfig& l) { return l.name == name; });
    };
    if (configured("pop3s"))
        log_event(LogLevel::warn, "pop3.unavailable", "reason=no_certificate (connections to pop3s are closed; create one with vaultmx init --self-signed)");
    if (configured("submission") || configured("submission_tls"))
        log_event(LogLevel::warn, "submission.unavailable", "reason=no_certificate (submission answers 554 on 587 and closes on 465; create one with vaultmx init --self-signed)");
    log_event(LogLevel::warn, "tls.unavailable", "cert=\"{}\" reason=absent (STARTTLS not offered; create one with vaultmx init --self-signed)",
              config_.tls_cert);
}

int Daemon::run() {
    Engine& engine = *engine_;
    warn_without_tls();
    std::string listening;
    for (const ListenerConfig& l : config_.listeners) listening += " " + l.name + "=" + l.address_text;
    log_event(LogLevel::info, "vaultmxd.start", "version={} shards={} pid={} listen={}", VMX_VERSION,
              engine.shard_count(), getpid(), listening.empty() ? std::string("none") : listening.substr(1));
    log_event(LogLevel::info, "keys.master_loaded", "source={} scope_keys={} segments={} aead=\"{}\"", key_source_,
              keys_->records().size(), layout_->segments(), crypto::aead_implementation());
    // Shards take each new key snapshot from the control thread (created keys, rotations).
    keys_->on_shredded([this] { backup_scrub_owed_ = true; });
    keys_->on_master_rotated([this](const crypto::MasterKey& master) {
        if (backups_) backups_->set_master(crypto::copy_of(master));
        log_event(LogLevel::info, "keys.master_rotated", "check={}", hex_of(master.check));
    });
    keys_->on_publish([this, &engine](std::shared_ptr<const crypto::KeySet> snapshot) {
        audit_->set_keys(snapshot);
        bans_->set_keys(snapshot);
        send_to_every_shard(engine, "keys.publish_failed", [&snapshot] {
            Message m;
            m.kind = message_keys_updated;
            m.payload = std::make_unique<KeysUpdated>(snapshot);
            return m;
        });
    });

    ControlLoop loop(engine, sink_.get());
    AdminServer& admin_socket = *admin_server_;
    loop.watch(admin_socket.fd(), [&admin_socket] { admin_socket.on_readable(); });
    loop.watch(hasher_->fd(), [this] { hasher_->on_readable(); });
    loop.watch(metrics_server_->fd(), [this] { metrics_server_->on_readable(); });
    loop.watch(portal_server_->fd(), [this] { portal_server_->on_readable(); });
    loop.on_message([this](Message& m) { on_control_message(m); });
    loop.on_reload([this] { reload(); });
    rewrap_->start();  // a rewrap a crash interrupted goes on (nothing when no version is retiring)
    start_account_migration();
    loop.on_tick([this, &admin_socket] {
        recorder_->tick(now_unix());
        closure_->tick(monotonic_ms());
        if (backups_) backups_->tick(now_unix());
        acme_tick();
        follow_shared_keys();
        scrub_backups();
        rewrap_->tick();
        admin_socket.expire(monotonic_ms());
        metrics_server_->expire(monotonic_ms());
        portal_server_->expire(monotonic_ms());
        portal_sessions_->expire(now_unix());
        log_tick();
    });
    loop.run();
    recorder_->flush();
    finish_log();
    return 0;
}

}  // namespace vmx
