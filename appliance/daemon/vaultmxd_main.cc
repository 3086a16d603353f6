// vaultmxd: the daemon. Reads and validates the config, opens the log, binds every listener
// (exit 2 with one line naming the key when anything is wrong), starts one shard per core and
// runs the control loop on this thread until SIGTERM/SIGINT has drained the shards (exit 0).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <variant>

#include "appliance/admin/commands.h"
#include "appliance/admin/server.h"
#include "appliance/audit/audit_log.h"
#include "appliance/auth/auth_workers.h"
#include "appliance/pop3/maildrop.h"
#include "appliance/config/config.h"
#include "core/patterns.h"
#include "net/smtp/session.h"
#include "net/tls/tls_context.h"
#include "appliance/directory/directory.h"
#include "appliance/keys/key_service.h"
#include "appliance/common/messages.h"
#include "appliance/keys/key_setup.h"
#include "appliance/auth/sessions.h"
#include "appliance/daemon/shard_context.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/daemon/listeners.h"
#include "core/clock.h"
#include "core/control_loop.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/log_sink.h"
#include "crypto/errc.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "store/errc.h"
#include "store/layout.h"

namespace vmx {
namespace {

constexpr int exit_config = 2;
constexpr int exit_runtime = 1;

int start_failure(const std::string& line, int code) {
    std::fprintf(stderr, "vaultmxd: %s\n", line.c_str());
    return code;
}

void raise_descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

// The trash purge of one shard, every sweep interval: a bounded number of mailboxes per pass.
void schedule_trash_purge(Shard& shard, TrashPurge& purge, std::uint64_t interval_ms) {
    if (interval_ms == 0) return;
    shard.schedule(interval_ms, [&purge, interval_ms](Shard& s) {
        purge.run(static_cast<std::int64_t>(std::time(nullptr)), 10'000);
        schedule_trash_purge(s, purge, interval_ms);
    });
}

// The master key from a systemd credential when the unit passes one, else from the configured
// file. Read before anything else can fail half-way, and before privileges are dropped.
struct LoadedMasterKey {
    crypto::MasterKey key;
    std::string source;
};

struct StartError {
    std::string line;
};

std::variant<LoadedMasterKey, StartError> load_master_key_variant(const Config& config) {
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
        auto from_credential = crypto::load_master_key_credential("master.key");
        if (from_credential) return LoadedMasterKey{std::move(*from_credential), "credential"};
        if (from_credential.error() != std::errc::no_such_file_or_directory)
            return StartError{"credential master.key: " + from_credential.error().message()};
    }
    auto from_file = crypto::load_master_key_file(config.master_key_file);
    if (from_file) return LoadedMasterKey{std::move(*from_file), "file"};
    std::string line = "keys.master_key_file: " + config.master_key_file + ": " + from_file.error().message();
    if (from_file.error() == std::errc::no_such_file_or_directory) line += " (create it with: vaultmx -c FILE init)";
    if (from_file.error() == crypto::CryptoErrc::key_file_insecure) line += " (chmod 600, owned by the daemon's user)";
    return StartError{line};
}

// TLS for STARTTLS and the implicit-TLS ports: the configured certificate, or none at all (STARTTLS
// is then not offered, pop3s refuses) when neither file exists yet; an error when they do not load.
std::variant<std::shared_ptr<const net::TlsServerContext>, StartError> open_tls(const Config& config) {
    if (!std::filesystem::exists(config.tls_cert) && !std::filesystem::exists(config.tls_key))
        return std::shared_ptr<const net::TlsServerContext>();
    net::TlsServerOptions options;
    options.certificate = {config.tls_cert, config.tls_key};
    std::string detail;
    auto made = net::TlsServerContext::create(options, detail);
    if (!made) return StartError{"tls: " + (detail.empty() ? made.error().message() : detail)};
    return std::move(*made);
}

// Messages addressed to a shard (from the control thread and from other shards), on that shard.
void on_shard_message(Shard& shard, Message& m) {
    ShardContext& context = ShardContext::of(shard);
    if (m.kind == message_deliver || m.kind == message_delivered) {
        context.delivery->on_message(m);
    } else if (m.kind == message_keys_updated && m.payload) {
        context.store->set_keys(std::move(static_cast<KeysUpdated*>(m.payload.get())->keys));
    } else if (m.kind == message_mailbox_restore && m.payload) {
        auto* request = static_cast<MailboxRestore*>(m.payload.get());
        const std::uint64_t token = request->token;
        const std::uint32_t control = shard.shard_count();
        context.writes->restore(request->box, request->message_id, [&shard, token, control](Result<std::uint64_t> r) {
            auto reply = std::make_unique<MailboxRestored>();
            reply->token = token;
            if (!r) reply->error = r.error();
            Message done;
            done.kind = message_mailbox_restored;
            done.payload = std::move(reply);
            if (!shard.send_message(control, std::move(done))) log_event(LogLevel::warn, "admin.reply_dropped", "token={}", token);
        });
    } else if (m.kind == message_rewrap_start && m.payload) {
        context.rewrap->start(static_cast<RewrapStart*>(m.payload.get())->name);
    } else if (m.kind == message_logout_user) {
        const std::size_t ended = context.sessions->logout(m.a);
        if (ended > 0) log_event(LogLevel::info, "session.logout", "user={} sessions={}", m.a, ended);
    } else if (is_pop3_message(m.kind)) {
        context.maildrops->on_message(m);
    }
}

// The narrow parts each protocol service's handlers use of their shard.
SmtpShardParts smtp_parts_of(Shard& shard) {
    ShardContext& c = ShardContext::of(shard);
    return {c.delivery.get(), c.store.get(), c.directory_env};
}

Pop3ShardParts pop3_parts_of(Shard& shard) {
    ShardContext& c = ShardContext::of(shard);
    return {c.sessions.get(), c.maildrops.get(), c.auth.get(), c.store.get(), c.directory_env};
}

// Sends one message made by `make` to every shard; a full inbox is logged as `what`.
template <class Make>
void send_to_every_shard(Engine& engine, const char* what, Make make) {
    for (std::uint32_t s = 0; s < engine.shard_count(); ++s)
        if (!engine.control_send(s, make())) log_event(LogLevel::error, what, "shard={}", s);
}

// Login attempts the shards report, written in batches (one transaction per control tick, so a
// burst of logins costs one fsync) and purged after the retention. Control thread only.
class LoginRecorder {
public:
    LoginRecorder(LoginHistory& history, KeyService& keys, std::int64_t retention_s)
        : history_(history), keys_(keys), retention_s_(retention_s) {}

    void add(LoginEvent event) {
        pending_.push_back(std::move(event));
        if (pending_.size() >= 4096) flush();
    }

    void flush() {
        if (pending_.empty()) return;
        if (auto r = history_.append(*keys_.snapshot(), pending_); !r)
            log_event(LogLevel::error, "logins.write_failed", "events={} error=\"{}\"", pending_.size(), r.error().message());
        pending_.clear();
    }

    // Flushes; once an hour, purges what is past the retention.
    void tick(std::int64_t now_unix) {
        flush();
        if (now_unix < next_purge_) return;
        next_purge_ = now_unix + 3600;
        auto purged = history_.purge_before(now_unix - retention_s_, 100000);
        if (!purged) log_event(LogLevel::warn, "logins.purge_failed", "error=\"{}\"", purged.error().message());
        else if (*purged > 0) log_event(LogLevel::info, "logins.purged", "entries={}", *purged);
    }

private:
    LoginHistory& history_;
    KeyService& keys_;
    std::int64_t retention_s_;
    std::vector<LoginEvent> pending_;
    std::int64_t next_purge_ = 0;
};

// Builds each shard's ShardContext on the shard's own thread (Engine::set_shard_local).
struct ShardBuilder {
    const store::StoreEnvironments& all_envs;
    store::StoreHandles& handles;
    ShardStoreOptions store_options;
    std::shared_ptr<const crypto::KeySet> first_keys;
    const Directory& directory;
    store::Env& directory_env;
    AuthWorkers& auth_workers;
    std::int64_t trash_retention_s;
    MailboxWritesOptions writes_options;

    Result<std::unique_ptr<ShardLocal>> operator()(Shard& shard) const {
        auto shard_store = ShardStore::open(shard, all_envs, handles, store_options, first_keys);
        if (!shard_store) return fail(shard_store.error());
        auto context = std::make_unique<ShardContext>();
        context->store = std::move(*shard_store);
        context->writes = std::make_unique<MailboxWrites>(*context->store, writes_options);
        context->delivery = std::make_unique<LocalDelivery>(shard, *context->store, *context->writes, directory, directory_env);
        context->sessions = std::make_unique<ShardSessions>(shard);
        context->directory_env = &directory_env;
        context->rewrap = std::make_unique<RewrapRunner>(shard, *context->store, directory, directory_env);
        context->trash_purge = std::make_unique<TrashPurge>(*context->store, *context->writes, directory, directory_env,
                                                            trash_retention_s);
        schedule_trash_purge(shard, *context->trash_purge, store_options.sweep_interval_ms);
        context->auth = std::make_unique<ShardAuth>(shard, auth_workers);
        context->maildrops = std::make_unique<Pop3Maildrops>(shard, *context->store, *context->writes);
        // Hand-offs left by the last run go out at the first turn of the loop, when every shard
        // can receive them.
        LocalDelivery* delivery = context->delivery.get();
        shard.schedule(0, [delivery](Shard&) { delivery->recover(); });
        return std::unique_ptr<ShardLocal>(std::move(context));
    }
};

int run_daemon(const Config& config) {
    LogLevel level = LogLevel::info;
    parse_log_level(config.log_level, level);  // validated by the config loader
    set_log_level(level);

    std::error_code ec;
    std::filesystem::create_directories(config.log_dir, ec);
    if (ec) return start_failure("log.dir: cannot create " + config.log_dir + ": " + ec.message(), exit_config);
    auto sink = LogSink::open(config.log_dir + "/vaultmxd.log", LogEcho::stderr_too);
    if (!sink) return start_failure("log.dir: cannot open " + config.log_dir + "/vaultmxd.log: " + sink.error().message(), exit_config);

    auto master = load_master_key_variant(config);
    if (auto* error = std::get_if<StartError>(&master)) return start_failure(error->line, exit_config);
    LoadedMasterKey& loaded_key = std::get<LoadedMasterKey>(master);
    const std::string key_source = loaded_key.source;

    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) {
        std::string line = "paths.data: " + config.data_dir + ": " + layout.error().message();
        if (layout.error() == store::StoreErrc::not_initialised) line += " (run: vaultmx -c FILE init)";
        return start_failure(line, exit_config);
    }
    auto index_key = Directory::derive_index_key(loaded_key.key.material.view());
    if (!index_key) return start_failure("keys: cannot derive the directory index key: " + index_key.error().message(), exit_runtime);
    auto opened = open_keys(*layout, std::move(loaded_key.key),
                            key_source == "file" ? config.master_key_file : std::string("credential master.key"));
    if (auto* error = std::get_if<std::string>(&opened)) return start_failure(*error, exit_config);
    KeyService keys(std::move(std::get<OpenedKeys>(opened)));
    const auto now_unix = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
    if (auto r = keys.ensure(appliance_scope, now_unix()); !r)
        return start_failure("keys: cannot create the appliance key: " + r.error().message(), exit_runtime);

    const std::string directory_path = layout->path(store::GlobalKind::directory);
    auto directory_env = store::Env::open(directory_path, layout->env_options(store::GlobalKind::directory));
    if (!directory_env) return start_failure("store: cannot open " + directory_path + ": " + directory_env.error().message(), exit_runtime);
    auto directory = Directory::open(**directory_env, std::move(*index_key));
    if (!directory) return start_failure("store: cannot open the directory in " + directory_path + ": " + directory.error().message(), exit_runtime);

    const std::string audit_path = layout->path(store::GlobalKind::audit);
    auto audit_env = store::Env::open(audit_path, layout->env_options(store::GlobalKind::audit));
    if (!audit_env) return start_failure("store: cannot open " + audit_path + ": " + audit_env.error().message(), exit_runtime);
    auto audit = AuditLog::open(**audit_env, keys.snapshot(), AuditCreate::never);
    if (!audit)
        return start_failure("store: cannot open the audit log in " + audit_path + ": " + audit.error().message() +
                                 " (a folder from an older version: run vaultmx -c FILE init once)",
                             exit_config);

    auto opened_tls = open_tls(config);
    if (auto* error = std::get_if<StartError>(&opened_tls)) return start_failure(error->line, exit_config);
    const std::shared_ptr<const net::TlsServerContext> tls = std::get<0>(opened_tls);
    if (!matches(Pattern::domain, config.hostname))
        return start_failure("smtp.hostname: " + config.hostname + ": invalid domain", exit_config);
    ListenerDeps deps{config, *directory, tls, {}, {}, smtp_parts_of, pop3_parts_of};
    deps.smtp.options.hostname = config.hostname;
    deps.smtp.options.starttls = tls ? smtp::StartTls::offered : smtp::StartTls::unavailable;
    deps.smtp.tls = tls;
    // POP3S: logins are throttled and passwords checked by the auth workers, never on a shard
    // thread; the workers outlive the engine (declared before it), whose shards watch their fds.
    deps.pop3.tls = tls;
    std::unique_ptr<AuthWorkers> auth_workers;

    raise_descriptor_limit();
    // Shards take each new key snapshot from the control thread (created keys, rotations).
    // A shard writes only the segments it owns, so there are never more shards than segments.
    EngineConfig engine_config = config.engine;
    if (engine_config.shards == 0) engine_config.shards = default_shard_count();
    if (engine_config.shards > layout->segments()) {
        log_event(LogLevel::warn, "engine.shards_capped", "asked={} segments={} (each shard needs a segment to own)",
                  engine_config.shards, layout->segments());
        engine_config.shards = layout->segments();
    }
    Engine engine(engine_config, listener_specs(deps), sink->get(), on_shard_message);
    ShardStoreOptions store_options;
    store_options.sweep_interval_ms = std::uint64_t{config.store.sizing.sweep_interval_s} * 1000;
    auto segment_envs = store::StoreEnvironments::open(*layout);
    if (!segment_envs) return start_failure("store: cannot open the segments in " + config.data_dir + ": " + segment_envs.error().message(), exit_runtime);
    const store::StoreEnvironments& all_envs = *segment_envs;
    store::TempOptions temp_options;
    temp_options.ttl_s = config.store.sizing.temp_ttl_s;
    auto handles = store::StoreHandles::open(all_envs, temp_options);
    if (!handles) return start_failure("store: cannot open the segment databases in " + config.data_dir + ": " + handles.error().message(), exit_runtime);
    store::StoreHandles& store_handles = *handles;
    AuthWorkerOptions auth_options;
    auth_options.argon2 = config.argon2;
    auth_workers = std::make_unique<AuthWorkers>(auth_options, engine.shard_count());
    if (auto r = auth_workers->start(); !r) return start_failure("auth: cannot start the password workers: " + r.error().message(), exit_runtime);
    ShardBuilder build_shard{all_envs, store_handles, store_options, keys.snapshot(), *directory, **directory_env,
                             *auth_workers, std::int64_t{config.store.sizing.trash_retention_days} * 86400,
                             MailboxWritesOptions{config.store.sizing.delivery_batch_ms}};
    engine.set_shard_local(build_shard);
    // Signals are blocked before the ports open: a stop that arrives as soon as a client can
    // connect is then a clean drain, not the default action.
    block_control_signals();
    if (auto bind_error = engine.bind()) {
        return start_failure("listen." + bind_error->listener + ": cannot bind " + bind_error->address + ": " +
                                 bind_error->error.message(),
                             exit_config);
    }
    // Sessions and login attempts reported by the shards.
    SessionRegistry sessions;
    auto logins = LoginHistory::open(**directory_env);
    if (!logins) return start_failure("store: cannot open the login history in " + directory_path + ": " + logins.error().message(), exit_runtime);
    LoginRecorder recorder(*logins, keys, std::int64_t{config.store.sizing.login_history_days} * 86400);
    auto flush_logins = [&recorder] { recorder.flush(); };
    auto logout_everywhere = [&engine](std::uint64_t user_id) {
        send_to_every_shard(engine, "session.logout_send_failed", [user_id] {
            Message m;
            m.kind = message_logout_user;
            m.a = user_id;
            return m;
        });
    };

    const bool pop3s_configured = std::any_of(config.listeners.begin(), config.listeners.end(),
                                              [](const ListenerConfig& l) { return l.name == "pop3s"; });
    if (!tls && pop3s_configured)
        log_event(LogLevel::warn, "pop3.unavailable", "reason=no_certificate (connections to pop3s are closed; create one with vaultmx init --self-signed)");
    if (!tls)
        log_event(LogLevel::warn, "tls.unavailable", "cert=\"{}\" reason=absent (STARTTLS not offered; create one with vaultmx init --self-signed)",
                  config.tls_cert);
    // After the listeners: a second daemon fails on its ports before it could take this socket over.
    AdminContext admin{*directory, keys, config.argon2};
    admin.engine = &engine;
    admin.now_unix = now_unix;
    admin.sessions = &sessions;
    admin.logins = &*logins;
    admin.logout_everywhere = logout_everywhere;
    admin.flush_logins = flush_logins;
    admin.audit = &*audit;
    admin.envs = &all_envs;
    admin.handles = &store_handles;
    admin.shards = engine.shard_count();
    admin.to_shard = [&engine](std::uint32_t shard, Message m) { return engine.control_send(shard, std::move(m)).has_value(); };
    admin.delivery_stats = [&engine](std::uint32_t shard) -> const DeliveryStats* {
        return &ShardContext::of(engine.shard(shard)).delivery->stats();
    };
    admin.lane_stats = [&engine](std::uint32_t shard) -> const store::LaneStats* {
        return &ShardContext::of(engine.shard(shard)).store->lane_stats();
    };
    RewrapControl rewrap(keys, engine.shard_count(), admin.to_shard);
    admin.rewrap = &rewrap;
    auto admin_server = AdminServer::open(config.admin_socket, [&admin](const AdminRequest& request, const AdminPeer& peer,
                                                                        AdminResponder respond) {
        const std::string command = request.command;
        const std::uint32_t uid = peer.uid;
        run_admin_command(admin, request, peer, [command, uid, respond = std::move(respond)](AdminReply reply) {
            log_event(reply.status == AdminStatus::ok ? LogLevel::info : LogLevel::warn, "admin.command",
                      "uid={} command=\"{}\" status={}", uid, command, static_cast<int>(reply.status));
            respond(std::move(reply));
        });
    });
    if (!admin_server) {
        return start_failure("admin.socket: cannot listen on " + config.admin_socket + ": " + admin_server.error().message() +
                                 " (does its folder exist? vaultmx -c FILE init creates it)",
                             exit_config);
    }
    if (auto r = engine.start(); !r) return start_failure("engine: cannot start: " + r.error().message(), exit_runtime);

    std::string listening;
    for (const ListenerConfig& l : config.listeners) listening += " " + l.name + "=" + l.address_text;
    log_event(LogLevel::info, "vaultmxd.start", "version={} shards={} pid={} listen={}", VMX_VERSION,
              engine.shard_count(), getpid(), listening.empty() ? std::string("none") : listening.substr(1));
    log_event(LogLevel::info, "keys.master_loaded", "source={} scope_keys={} segments={} aead=\"{}\"", key_source,
              keys.records().size(), layout->segments(), crypto::aead_implementation());
    keys.on_publish([&engine, &audit](std::shared_ptr<const crypto::KeySet> snapshot) {
        audit->set_keys(snapshot);
        send_to_every_shard(engine, "keys.publish_failed", [&snapshot] {
            Message m;
            m.kind = message_keys_updated;
            m.payload = std::make_unique<KeysUpdated>(snapshot);
            return m;
        });
    });

    ControlLoop loop(engine, sink->get());
    AdminServer& admin_socket = **admin_server;
    loop.watch(admin_socket.fd(), [&admin_socket] { admin_socket.on_readable(); });
    loop.on_message([&](Message& m) {
        if (m.kind == message_session_started && m.payload) {
            sessions.started(std::move(static_cast<SessionStarted*>(m.payload.get())->info));
        } else if (m.kind == message_session_ended) {
            sessions.ended(m.from, m.a);
        } else if (m.kind == message_rewrap_progress && m.payload) {
            rewrap.on_report(m.from, *static_cast<RewrapReport*>(m.payload.get()));
        } else if (m.kind == message_mailbox_restored) {
            on_admin_shard_reply(admin, m);
        } else if (m.kind == message_login_attempt && m.payload) {
            recorder.add(std::move(static_cast<LoginAttempt*>(m.payload.get())->event));
        }
    });
    rewrap.start();  // a rewrap a crash interrupted goes on (nothing when no version is retiring)
    loop.on_tick([&] {
        recorder.tick(now_unix());
        admin_socket.expire(monotonic_ms());
    });
    loop.run();
    recorder.flush();
    return 0;
}

}  // namespace
}  // namespace vmx

int main(int argc, char** argv) {
    CLI::App app{"vaultmxd: the vaultmx mail gateway daemon"};
    std::string config_path;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
    app.add_flag("--check-config", check_only, "validate the configuration, print the effective values, exit");
    app.set_version_flag("--version", VMX_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    const auto loaded = vmx::load_config_or_report("vaultmxd", config_path);
    if (!loaded) return 2;
    const vmx::Config& config = *loaded;
    if (check_only) {
        std::fputs(vmx::describe_config(config).c_str(), stdout);
        std::fprintf(stderr, "vaultmxd: %s: configuration is valid\n", config_path.c_str());
        return 0;
    }
    return vmx::run_daemon(config);
}
