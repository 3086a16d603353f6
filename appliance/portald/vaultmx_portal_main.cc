// vaultmx-portal: the HTTPS self-service portal, a process of its own because it faces the
// internet. It reads the config, loads the appliance's certificate (and, from the daemon, those of
// its ACME CA, portal_certificates.h), binds [portal] listen (HTTPS)
// and [portal] redirect_listen (HTTP, redirects only), then becomes [portal] user with no capability,
// no_new_privs and the system-call filter, before any thread starts. It never opens the store and
// never reads the master key: everything a page shows or changes is asked of vaultmxd over the
// user-scoped socket ([portal] socket). Exit: 0 after SIGTERM/SIGINT, 2 for a config or start-up
// error (one line on stderr).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "appliance/common/privilege_drop.h"
#include "appliance/common/service_account.h"
#include "appliance/config/config.h"
#include "appliance/portal/http_service.h"
#include "appliance/portal/portal_app.h"
#include "appliance/portald/portal_certificates.h"
#include "appliance/portald/portal_workers.h"
#include "core/clock.h"
#include "core/control_loop.h"
#include "core/engine.h"
#include "core/log.h"
#include "core/log_sink.h"
#include "core/shard.h"
#include "core/socket_address.h"

namespace {

constexpr int exit_start_failure = 2;

int fail_start(const std::string& line) {
    std::fprintf(stderr, "vaultmx-portal: %s\n", line.c_str());
    return exit_start_failure;
}

vmx::EngineConfig portal_engine(const vmx::AppLimits& limits) {
    vmx::EngineConfig e;
    e.shards = 1;  // a page costs microseconds here; the daemon's answer is the slow part
    e.connections_per_shard_max = limits.portal_connections_max;
    e.ring_entries = 1024;
    e.recv_buffers = 256;
    e.idle_timeout_ms = limits.portal_idle_timeout_s * 1000;
    e.session_timeout_ms = 3600000;
    e.grace_period_ms = 5000;
    e.pin_threads = false;
    return e;
}

}  // namespace

int main(int argc, char** argv) try {
    using namespace vmx;
    CLI::App cli{"vaultmx-portal: the HTTPS self-service portal of vaultmx"};
    std::string config_path = "/etc/vaultmx/vaultmx.toml";
    cli.add_option("-c,--config", config_path, "the configuration file");
    CLI11_PARSE(cli, argc, argv);

    auto loaded = load_config_file(config_path);
    if (auto* error = std::get_if<ConfigError>(&loaded)) return fail_start(error->message);
    const Config config = std::move(std::get<Config>(loaded));

    std::string detail;
    auto certificates = PortalCertificates::open(config, detail);
    if (!certificates) return fail_start("tls: " + (detail.empty() ? certificates.error().message() : detail));
    auto https = parse_socket_address(config.portal_listen);
    auto redirect = parse_socket_address(config.portal_redirect_listen);
    if (!https || !redirect) return fail_start("portal.listen: invalid address");

    portal::HttpSettings settings;
    settings.tls_slot = (*certificates)->slot();
    settings.https_port = https->port();
    settings.limits.body_bytes_max = config.limits.portal_body_bytes_max;
    PortalWorkers workers(PortalWorkerOptions{config.portal_socket, config.limits.portal_workers, 1});
    settings.daemon = &workers;
    std::vector<std::unique_ptr<portal::PortalApp>> apps;
    apps.push_back(std::make_unique<portal::PortalApp>(workers, portal::PortalOptions{settings.https_port}));
    // Called on each shard thread as its listener starts: that shard's app, and its outbox watched.
    auto app_of = [&apps, &workers](Shard& shard) -> portal::PortalApp& {
        const std::uint32_t id = shard.id();
        shard.watch_readable(workers.fd(id), [&workers, id](Shard&) { workers.drain(id); });
        return *apps[id];
    };
    std::vector<ListenerSpec> listeners;
    listeners.push_back({"portal", *https, portal::portal_service_factory(settings, app_of)});
    listeners.push_back({"redirect", *redirect, portal::redirect_service_factory(settings)});

    auto sink = LogSink::open("", LogEcho::none);
    if (!sink) return fail_start("log: " + sink.error().message());
    Engine engine(portal_engine(config.limits), std::move(listeners), sink->get());
    if (auto bind_error = engine.bind())
        return fail_start(bind_error->listener + ": cannot listen on " + bind_error->address + ": " +
                          bind_error->error.message());

    std::string error;
    auto account = resolve_user_account(config.portal_user, error);
    if (!account) return fail_start(error);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    constexpr Sandbox sandbox = Sandbox::sanitized;
#else
    constexpr Sandbox sandbox = Sandbox::full;
#endif
    DropReport report;
    if (auto failed = drop_privileges(*account, sandbox, report)) return fail_start(*failed);

    block_control_signals();
    workers.start();
    if (auto started = engine.start(); !started) return fail_start("engine: " + started.error().message());
    log_event(LogLevel::info, "portal.started", "listen={} redirect_listen={} user={}", config.portal_listen,
              config.portal_redirect_listen, config.portal_user);
    ControlLoop loop(engine, sink->get());
    loop.on_tick([&certificates] { (*certificates)->tick(monotonic_ms()); });
    loop.run();
    engine.join();
    log_event(LogLevel::info, "portal.stopped", "");
    sink->get()->drain();
    return 0;
} catch (const std::exception& e) {  // out of memory, or a bug: one line and a failure status, not an abort
    std::fprintf(stderr, "vaultmx-portal: %s\n", e.what());
    return 1;
}
