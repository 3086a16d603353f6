// What each configured listener serves: [listen] smtp is the inbound MX (net/smtp through the
// stream layer); [listen] submission (587, STARTTLS) and submission_tls (465, implicit TLS) are the
// same engine in submission mode; [listen] pop3s is POP3 over implicit TLS. Without a certificate
// the submission and POP3S listeners stay "unavailable" (a refusal, or for implicit TLS a close).
// Built once by vaultmxd's main thread; the factories run on each shard.
#pragma once

#include <memory>
#include <vector>

#include "appliance/config/config.h"
#include "appliance/pop3/pop3_service.h"
#include "appliance/smtp/inbound_service.h"
#include "appliance/smtp/submission_service.h"
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
    SubmissionSettings submission;      // 587: STARTTLS required; only with a certificate
    SubmissionSettings submission_tls;  // 465: implicit TLS; only with a certificate
    SmtpPartsOf smtp_parts;  // what each shard gives its handlers
    Pop3PartsOf pop3_parts;
    SubmissionPartsOf submission_parts;
};

std::vector<ListenerSpec> listener_specs(const ListenerDeps& deps);

}  // namespace vmx
