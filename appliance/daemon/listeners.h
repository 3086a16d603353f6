// What each configured listener serves: [listen] smtp is the inbound MX (net/smtp through the
// stream layer), [listen] pop3s is POP3 over implicit TLS (without a certificate it stays
// "unavailable": it closes at once); listeners whose protocol is not built yet answer "unavailable".
// Built once by vaultmxd's main thread; the factories run on each shard.
#pragma once

#include <memory>
#include <vector>

#include "appliance/config/config.h"
#include "appliance/pop3/pop3_service.h"
#include "appliance/smtp/inbound_service.h"
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
    Pop3Settings pop3;  // pop3s: served only with a certificate (tls above)
    SmtpPartsOf smtp_parts;  // what each shard gives its handlers
    Pop3PartsOf pop3_parts;
};

std::vector<ListenerSpec> listener_specs(const ListenerDeps& deps);

}  // namespace vmx
