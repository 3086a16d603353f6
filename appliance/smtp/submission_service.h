// Submission on [listen] submission (587, STARTTLS required, RFC 6409) and [listen] submission_tls
// (465, TLS from the first byte, RFC 8314): the SMTP engine in submission mode, logins through the
// shared login flow (auth workers, throttle, policy, login history as "submission"), the live
// session registered so a remote logout ends it, the sender bound to the login, each user's hourly
// limits counted on their owner shard, each message DKIM-signed on the mail-authentication workers
// when its From: is the login's and its domain has a key, and queued once durably before the 250: local
// recipients through local delivery (smtp-in), remote ones into this shard's smtp-out queue. One
// handler per connection, on its shard's thread.
#pragma once

#include <functional>
#include <memory>

#include "appliance/auth/ban_list.h"
#include "appliance/smtp/sending_rates.h"
#include "core/service.h"
#include "net/smtp/session.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_context_slot.h"

namespace vmx {

class Directory;
class LocalDelivery;
class LoginFlow;
class OutboundQueue;
struct SmtpTimings;
class ShardMailAuth;
class ShardSessions;
class ShardReads;
class ShardStore;

// What a submission handler uses of its shard, and nothing else: built by the daemon for each shard.
struct SubmissionShardParts {
    LocalDelivery* delivery = nullptr;  // local recipients (smtp-in, then their mailboxes)
    OutboundQueue* outbound = nullptr;  // remote recipients (smtp-out)
    ShardStore* store = nullptr;        // keys and the reads of RCPT
    ShardReads* reads = nullptr;        // a shared store's readers (RCPT off the shard); null: one box
    LoginFlow* login = nullptr;         // the shared login flow
    ShardSessions* sessions = nullptr;  // live sessions (remote logout)
    SendingRates* rates = nullptr;      // hourly limits per user
    ShardMailAuth* mailauth = nullptr;  // DKIM signing; null: none
    SmtpTimings* timings = nullptr;     // end of DATA to 250 (metrics); null: not measured
};
using SubmissionPartsOf = std::function<SubmissionShardParts(Shard&)>;

struct SubmissionSettings {
    smtp::Limits limits;
    smtp::Options options;  // Mode::submission; 587: StartTls::required; 465: Transport::tls
    std::shared_ptr<const net::TlsServerContext> tls;  // required: submission is served over TLS only
    std::shared_ptr<const net::TlsServerContextSlot> tls_slot;  // set: new sessions take its current context
    bool hide_client_address = true;  // [submission] hide_client_address: the Received: header
    HourlyLimits hourly;              // the appliance's default; an organisation's policy may set its own
    std::string postmaster;           // the mailbox a bare RCPT TO:<Postmaster> reaches ([smtp] postmaster)
    const BanList* bans = nullptr;    // an address banned for failed logins is turned away at once
};

// The listener's factory. `settings` and `directory` must outlive the engine.
ServiceFactory submission_factory(const SubmissionSettings& settings, const Directory& directory,
                                  SubmissionPartsOf parts_of);

}  // namespace vmx
