// vaultmxd's certificates (see daemon.h): the TLS server options every listener uses ([tls] cert
// and key, and the certificates from the ACME CA served by SNI, the one naming [smtp] hostname
// also as the default), and the ACME schedule on the control loop's tick.
#include <algorithm>

#include "appliance/daemon/daemon.h"
#include "appliance/directory/directory.h"
#include "core/log.h"

namespace vmx {
namespace {

constexpr std::int64_t wanted_refresh_s = 10;  // how often the domains are looked at for new ones

std::int64_t wall_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

net::TlsServerOptions Daemon::tls_server_options(const Config& config) const {
    net::TlsServerOptions options;
    options.certificate = {config.tls_cert, config.tls_key};
    if (!acme_) return options;
    const std::string host = lower_ascii(config.hostname);
    for (const StoredCertificate& c : acme_->certificates()) {
        for (const std::string& name : c.info.names) options.sni_pem[name] = c.pem;
        if (std::find(c.info.names.begin(), c.info.names.end(), host) != c.info.names.end()) options.certificate_pem = c.pem;
    }
    return options;
}

// The sets of names to hold certificates for: the appliance's ([smtp] hostname, then [acme] names)
// and, per mail domain, [acme] domain_names with the domain put in.
std::optional<std::vector<std::vector<std::string>>> Daemon::wanted_certificates() const {
    std::vector<std::vector<std::string>> wanted;
    std::vector<std::string> appliance{lower_ascii(config_.hostname)};
    for (const auto& n : config_.acme_names)
        if (std::string name = lower_ascii(n); std::find(appliance.begin(), appliance.end(), name) == appliance.end())
            appliance.push_back(std::move(name));
    wanted.push_back(std::move(appliance));
    if (config_.acme_domain_names.empty()) return wanted;
    // A directory that cannot be read now says nothing: the last list stays (never a shorter one,
    // whose missing certificates would be dropped).
    auto txn = store::ReadTxn::begin(directory_->env());
    if (!txn) return std::nullopt;
    auto domains = directory_->list_domains(*txn, *keys_->snapshot());
    if (!domains) return std::nullopt;
    for (const Domain& d : *domains) {
        std::vector<std::string> names;
        for (const std::string& pattern : config_.acme_domain_names) {
            std::string name = lower_ascii(pattern);
            name.replace(name.find("{domain}"), 8, d.name);  // the config check: exactly once
            if (crypto::valid_acme_name(name) && std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(std::move(name));
        }
        if (!names.empty()) wanted.push_back(std::move(names));
    }
    return wanted;
}

std::int64_t Daemon::soonest_certificate_expiry() const {
    std::int64_t soonest = tls_ ? tls_->not_after_unix() : 0;
    if (acme_)
        for (const StoredCertificate& c : acme_->certificates())
            if (c.info.not_after_unix != 0 && (soonest == 0 || c.info.not_after_unix < soonest)) soonest = c.info.not_after_unix;
    return soonest;
}

void Daemon::open_acme() {
    if (config_.acme_directory.empty()) return;
    https_global_init();
    AcmeScheduleOptions options;
    options.client.directory_url = config_.acme_directory;
    options.client.email = config_.acme_email;
    options.https.ca_file = config_.acme_ca_file;
    options.https.timeout_ms = config_.limits.acme_timeout_s * 1000;
    options.renew_days = config_.limits.acme_renew_days;
    options.check_interval_s = config_.limits.acme_check_interval_s;
    acme_ = std::make_unique<AcmeSchedule>(*keys_, std::move(options));
    acme_->load();
}

void Daemon::acme_tick() {
    if (!acme_) return;
    const std::int64_t now = wall_now();
    if (now - acme_wanted_at_ >= wanted_refresh_s) {
        if (auto wanted = wanted_certificates()) acme_wanted_ = std::move(*wanted);
        acme_wanted_at_ = now;
    }
    if (acme_wanted_.empty()) return;
    if (acme_->tick(now, acme_wanted_)) reload_tls(reloaded_ ? *reloaded_ : config_);
}

}  // namespace vmx
