// SIGHUP: the configuration file is read again. What can change while serving changes at once: the
// certificate and key of every TLS listener (new sessions take them; open ones keep theirs) and the
// log level. Every other changed key is named in the `config.reloaded` event as waiting for a
// restart. A file that no longer loads, or a certificate that does not, changes nothing.
#include <map>
#include <sstream>
#include <variant>

#include "appliance/daemon/daemon.h"
#include "core/log.h"

namespace vmx {
namespace {

// "section.key" -> value, from describe_config's lines.
std::map<std::string, std::string> settings_of(const Config& config) {
    std::map<std::string, std::string> out;
    std::istringstream lines(describe_config(config));
    for (std::string line; std::getline(lines, line);) {
        const std::size_t eq = line.find(" = ");
        if (line.empty() || line.front() == '#' || eq == std::string::npos) continue;
        out[line.substr(0, eq)] = line.substr(eq + 3);
    }
    return out;
}

bool reloadable(const std::string& key) { return key == "log.level" || key == "tls.cert" || key == "tls.key"; }

}  // namespace

void Daemon::reload() {
    auto loaded = load_config_file(config_.source_path);
    if (const auto* error = std::get_if<ConfigError>(&loaded)) {
        log_event(LogLevel::error, "config.reload_failed", "file=\"{}\" error=\"{}\"", config_.source_path, error->message);
        return;
    }
    const Config& fresh = std::get<Config>(loaded);
    const bool tls_ok = reload_tls(fresh);
    std::string waiting;
    const auto before = settings_of(reloaded_ ? *reloaded_ : config_);
    for (const auto& [key, value] : settings_of(fresh)) {
        const auto it = before.find(key);
        if (!reloadable(key) && (it == before.end() || it->second != value)) waiting += (waiting.empty() ? "" : ",") + key;
    }
    // Said at the level in force until now, then the new level applies.
    log_event(LogLevel::info, "config.reloaded", "log_level={} tls={} restart_needed={}", fresh.log_level,
              tls_ok ? "reloaded" : "kept", waiting.empty() ? "none" : waiting);
    LogLevel level = LogLevel::info;
    parse_log_level(fresh.log_level, level);  // validated by the loader
    set_log_level(level);
    reloaded_ = std::make_unique<Config>(std::move(std::get<Config>(loaded)));
}

// The listeners' certificate and key, read again (as the service user: the key must be readable by
// it; `vaultmx init` makes its key so). True when new sessions now use them.
bool Daemon::reload_tls(const Config& fresh) {
    if (!tls_slot_) {
        log_event(LogLevel::warn, "tls.reload_skipped", "reason=started_without_certificate (restart to serve TLS)");
        return false;
    }
    std::string detail;
    auto made = net::TlsServerContext::create(tls_server_options(fresh), detail);
    if (!made) {
        log_event(LogLevel::error, "tls.reload_failed", "cert=\"{}\" error=\"{}\" (the previous certificate stays)",
                  fresh.tls_cert, detail.empty() ? made.error().message() : detail);
        return false;
    }
    tls_ = *made;
    tls_slot_->replace(std::move(*made));
    log_event(LogLevel::info, "tls.reloaded", "cert=\"{}\"", fresh.tls_cert);
    return true;
}

}  // namespace vmx
