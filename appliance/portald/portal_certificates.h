// The certificates vaultmx-portal serves: [tls] cert and key (read at start, before the privilege
// drop), and those the daemon keeps from its ACME CA, asked for over the portal socket
// (`tls-certificates`) at start and every refresh_ms after, served by SNI (the one naming
// [smtp] hostname also as the default) through a slot, so connections open keep theirs.
// Threads: the control loop's tick only. Failure policy: an unreachable daemon or a certificate
// that does not load leaves the current context in place, said once per change of state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "appliance/config/config.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_context_slot.h"

namespace vmx {

inline constexpr std::uint64_t portal_certificates_refresh_ms = 15000;

class PortalCertificates {
public:
    // The context from [tls] cert and key; `detail` says why when it cannot be built.
    static Result<std::unique_ptr<PortalCertificates>> open(const Config& config, std::string& detail);

    std::shared_ptr<net::TlsServerContextSlot> slot() const { return slot_; }
    // Asks the daemon when refresh_ms have passed since the last ask (at once the first time).
    void tick(std::uint64_t now_ms);

private:
    PortalCertificates(const Config& config, std::shared_ptr<net::TlsServerContextSlot> slot, net::TlsPemPtr files)
        : config_(config), slot_(std::move(slot)), files_(std::move(files)) {}

    const Config& config_;
    std::shared_ptr<net::TlsServerContextSlot> slot_;
    net::TlsPemPtr files_;     // [tls] cert and key as read at start (the portal cannot read them later)
    std::string generation_;   // what the daemon last said; empty: nothing asked yet
    std::uint64_t next_ms_ = 0;
    bool failing_ = false;
};

}  // namespace vmx
