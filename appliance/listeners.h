// What each configured listener serves: [listen] smtp is the inbound MX (net/smtp through the
// stream layer); listeners whose protocol is not built yet answer with a clear "unavailable".
// Built once by vaultmxd's main thread; the factories run on each shard.
#pragma once

#include <memory>
#include <vector>

#include "appliance/config.h"
#include "appliance/smtp_inbound.h"
#include "core/service.h"
#include "net/tls/tls_context.h"

namespace vmx {

class Directory;

// Everything the listeners' services refer to; must outlive the engine.
struct ListenerDeps {
    const Config& config;
    const Directory& directory;
    std::shared_ptr<const net::TlsServerContext> tls;  // null: no certificate configured
    SmtpInboundSettings smtp;
};

std::vector<ListenerSpec> listener_specs(const ListenerDeps& deps);

}  // namespace vmx
