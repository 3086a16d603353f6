// The inbound MX on port 25 (and the same engine on any listener configured for it): the pure SMTP
// engine (net/smtp) driven through the stream layer (net/stream: plain, then TLS after STARTTLS),
// recipients checked against the directory (no open relay; a full mailbox is refused at RCPT), and
// each accepted message checked on the mail-authentication workers (SPF, DKIM, DMARC: RFC 7489's
// reject refused with 550 5.7.1, every Authentication-Results claiming our authserv-id removed and
// ours added) and queued durably through LocalDelivery before the 250. One handler per
// connection, on its shard's thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "appliance/smtp/client_limits.h"
#include "core/service.h"
#include "net/smtp/session.h"
#include "net/stream/stream.h"

namespace vmx {

class Directory;
class LocalDelivery;
class ShardMailAuth;
class ShardReads;
class ShardStore;
struct SmtpTimings;
// What an SMTP handler uses of its shard, and nothing else: built by the daemon for each shard.
struct SmtpShardParts {
    LocalDelivery* delivery = nullptr;     // queues accepted messages durably, then delivers
    ShardStore* store = nullptr;           // keys and mailbox reads (the quota check of RCPT)
    ShardReads* reads = nullptr;           // a shared store's readers (RCPT off the shard); null: one box
    ShardMailAuth* mailauth = nullptr;     // SPF, DKIM and DMARC checks; null: none
    SmtpTimings* timings = nullptr;        // end of DATA to 250 (metrics); null: not measured
};
using SmtpPartsOf = std::function<SmtpShardParts(Shard&)>;

struct SmtpInboundSettings {
    smtp::Limits limits;
    smtp::Options options;                                   // hostname, STARTTLS offered or not
    std::shared_ptr<const net::TlsServerContext> tls;        // null: STARTTLS unavailable (454)
    std::shared_ptr<const net::TlsServerContextSlot> tls_slot;  // set: new sessions take its current context
    std::string authserv_id;          // ours in Authentication-Results ([mailauth] authserv_id)
    std::string postmaster;           // the mailbox a bare RCPT TO:<Postmaster> reaches ([smtp] postmaster)
    ClientLimits* client_limits = nullptr;  // [limits]: per-address counts (null: none)
    std::uint32_t greet_wait_ms = 0;        // [limits] greet_wait_ms (exempt networks are greeted at once)
    bool refuse_unauthenticated_local = true;  // From: a local domain without DMARC pass: 550 5.7.1
                                               // (false: [mailauth] dmarc_reject = "mark", or DMARC off)
};

// The listener's factory: a StreamService per shard whose handlers use that shard's parts, as
// parts_of(shard) gives them. `settings` and `directory` must outlive the engine.
ServiceFactory smtp_inbound_factory(const SmtpInboundSettings& settings, const Directory& directory, SmtpPartsOf parts_of);

}  // namespace vmx
