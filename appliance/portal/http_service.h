// The portal's listeners: HTTPS (implicit TLS, the appliance's certificate and TLS policy) carrying
// HTTP/1.1 to the PortalApp, and plain HTTP that only redirects to it. One handler per connection on
// the shard that accepted it; requests on a connection are answered in order, one at a time (a
// pipelined request waits, unread, until the one before is answered). Limits: the head, the body
// (RequestLimits), and the shard's idle and session timeouts.
#pragma once

#include <cstdint>
#include <memory>

#include "appliance/portal/daemon_link.h"
#include "appliance/portal/portal_app.h"
#include "core/service.h"
#include "net/http/request.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_context_slot.h"

namespace vmx::portal {

struct HttpSettings {
    http::RequestLimits limits{};
    std::shared_ptr<const net::TlsServerContext> tls;  // required for the HTTPS listener (unless tls_slot)
    std::shared_ptr<const net::TlsServerContextSlot> tls_slot;  // when set, new connections take its context
    DaemonLink* daemon = nullptr;                      // the redirect listener's HTTP-01 answers; null: none
    std::uint16_t https_port = 443;                    // where the redirect listener sends browsers
};

using AppOf = std::function<PortalApp&(Shard&)>;

// The HTTPS listener: each request goes to the shard's PortalApp (app_of(shard)).
ServiceFactory portal_service_factory(const HttpSettings& settings, AppOf app_of);
// The redirect listener: every GET or HEAD gets 301 to https://HOST[:port]/path; anything else 405.
// Except /.well-known/acme-challenge/TOKEN (RFC 8555 8.3), answered with the key authorization the
// daemon holds for that token (404 when none): the CA checks it over plain HTTP on port 80.
ServiceFactory redirect_service_factory(const HttpSettings& settings);

}  // namespace vmx::portal
