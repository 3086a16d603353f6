// The inbound MX on port 25 (and the same engine on any listener configured for it): the pure SMTP
// engine (net/smtp) driven through the stream layer (net/stream: plain, then TLS after STARTTLS),
// recipients checked against the directory (no open relay; a full mailbox is refused at RCPT), and
// each accepted message queued durably through LocalDelivery before the 250. One handler per
// connection, on its shard's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/service.h"
#include "net/smtp/session.h"
#include "net/stream/stream.h"

namespace vmx {

class Directory;
class LocalDelivery;
class ShardStore;
// What an SMTP handler uses of its shard, and nothing else: built by the daemon for each shard.
struct SmtpShardParts {
    LocalDelivery* delivery = nullptr;     // queues accepted messages durably, then delivers
    ShardStore* store = nullptr;           // keys and mailbox reads (the quota check of RCPT)
};
using SmtpPartsOf = std::function<SmtpShardParts(Shard&)>;

struct SmtpInboundSettings {
    smtp::Limits limits;
    smtp::Options options;                                   // hostname, STARTTLS offered or not
    std::shared_ptr<const net::TlsServerContext> tls;        // null: STARTTLS unavailable (454)
};

// The listener's factory: a StreamService per shard whose handlers use that shard's parts, as
// parts_of(shard) gives them. `settings` and `directory` must outlive the engine.
ServiceFactory smtp_inbound_factory(const SmtpInboundSettings& settings, const Directory& directory, SmtpPartsOf parts_of);

}  // namespace vmx
