// vaultmxd's TLS step (see daemon.h): the server context of STARTTLS and the implicit-TLS ports,
// and the two client contexts of outbound delivery.
#include <filesystem>

#include "appliance/daemon/daemon.h"
#include "core/log.h"
#include "core/patterns.h"

namespace vmx {

// TLS for STARTTLS and the implicit-TLS ports: the configured certificate, or none at all (STARTTLS
// is then not offered, pop3s refuses) when neither file exists yet; an error when they do not load.
std::optional<StartFailure> Daemon::open_tls() {
    if (!matches(Pattern::domain, config_.hostname))
        return config_failure("smtp.hostname: " + config_.hostname + ": invalid domain");
    if (!std::filesystem::exists(config_.tls_cert) && !std::filesystem::exists(config_.tls_key))
        return std::nullopt;  // said once the daemon runs (warn_without_tls), not before a start-up error
    open_acme();
    std::string detail;
    auto made = net::TlsServerContext::create(tls_server_options(config_), detail);
    if (!made) return config_failure("tls: " + (detail.empty() ? made.error().message() : detail));
    tls_ = std::move(*made);
    tls_slot_ = std::make_shared<net::TlsServerContextSlot>(tls_);
    return open_outbound_tls();
}

// Outbound STARTTLS: one context that takes any certificate (may, encrypt: RFC 7435), one that
// verifies the chain against [delivery] tls_ca_file or the system's store and the host name (verify).
std::optional<StartFailure> Daemon::open_outbound_tls() {
    std::string detail;
    net::TlsClientOptions any;
    auto opportunistic = net::TlsClientContext::create(any, detail);
    if (!opportunistic) return config_failure("delivery: outbound TLS: " + (detail.empty() ? opportunistic.error().message() : detail));
    tls_out_ = std::move(*opportunistic);
    net::TlsClientOptions checked;
    checked.verify = net::TlsVerify::peer;
    checked.ca_file = config_.delivery_tls_ca_file;
    auto verified = net::TlsClientContext::create(checked, detail);
    if (!verified) {
        // Only destinations under `verify` need it: without trust anchors they defer, and the log says why.
        log_event(LogLevel::warn, "delivery.tls_verify_unavailable", "detail=\"{}\"",
                  detail.empty() ? verified.error().message() : detail);
        return std::nullopt;
    }
    tls_out_verified_ = std::move(*verified);
    return std::nullopt;
}

}  // namespace vmx
