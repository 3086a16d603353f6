// The shard side of the daemon's composition: what the appliance keeps per shard (ShardContext, the
// shard's ShardLocal), the builder that makes it on the shard's own thread, the narrow parts each
// protocol service gets of it, and the ONE table from message kind to handler for messages that
// reach a shard. Shard thread only, but for ShardBuilder's fields (immutable, set before start).
#pragma once

#include <cstdint>
#include <memory>

#include "appliance/auth/auth_workers.h"
#include "appliance/mailauth/mailauth_workers.h"
#include "appliance/auth/login_flow.h"
#include "appliance/auth/sessions.h"
#include "appliance/common/shard_calls.h"
#include "appliance/delivery/bounces.h"
#include "appliance/delivery/delivery_agent.h"
#include "appliance/delivery/local_delivery.h"
#include "appliance/delivery/notice_mail.h"
#include "appliance/delivery/outbound_queue.h"
#include "appliance/delivery/outbound_session.h"
#include "appliance/directory/directory.h"
#include "appliance/jobs/export_staging.h"
#include "appliance/jobs/marker_cleanup.h"
#include "appliance/jobs/rewrap_runner.h"
#include "appliance/jobs/trash_purge.h"
#include "appliance/mailstore/mailbox_writes.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"
#include "appliance/pop3/maildrop.h"
#include "appliance/pop3/maildrop_leases.h"
#include "appliance/pop3/pop3_service.h"
#include "appliance/smtp/inbound_service.h"
#include "appliance/smtp/sending_rates.h"
#include "appliance/smtp/smtp_connection.h"
#include "appliance/smtp/submission_service.h"
#include "core/message.h"
#include "core/shard.h"
#include "store/segment_handles.h"
#include "store/shard_envs.h"

namespace vmx {

// Owned by the shard; only the daemon's wiring reaches into it: services get their parts below.
struct ShardContext final : ShardLocal {
    // Destroyed in reverse order: the store last, so its lane finishes the writes queued by the others.
    std::unique_ptr<SmtpTimings> smtp_timings;     // end of DATA to 250, both SMTP listeners (metrics)
    std::unique_ptr<ShardStore> store;
    std::unique_ptr<ShardReads> reads;             // a shared store's readers; null: reads on the shard
    std::unique_ptr<MailboxWrites> writes;
    std::unique_ptr<ExportStaging> exports;        // the portal's staged exports of the mailboxes it owns
    std::unique_ptr<ShardCalls> calls;             // requests to other shards and their replies
    std::unique_ptr<LocalDelivery> delivery;
    std::unique_ptr<DeliveryAgent> agent;          // sends what the smtp-out queues hold
    std::unique_ptr<OutboundQueue> outbound;       // submitted mail for remote recipients (smtp-out)
    std::unique_ptr<Bouncer> bouncer;              // DSNs for recipients that failed for good
    std::unique_ptr<NoticeMailer> notices;         // notices to the admin ([alarms] mail_to)
    std::unique_ptr<SendingRates> rates;           // hourly submission limits of the users this shard owns
    std::unique_ptr<ShardSessions> sessions;
    std::unique_ptr<TrashPurge> trash_purge;
    std::unique_ptr<MarkerCleanup> marker_cleanup;
    std::unique_ptr<RewrapRunner> rewrap;
    std::unique_ptr<ShardAuth> auth;               // password checks through the auth workers
    std::unique_ptr<ShardMailAuth> mailauth;       // DKIM signing and the MX's checks, on their workers
    bool mx_checks = true;                         // the MX hands messages to the checks
    std::unique_ptr<LoginFlow> login;              // every protocol's logins
    std::unique_ptr<Pop3Maildrops> maildrops;      // POP3 maildrop locks and deletions this shard owns

    static ShardContext& of(Shard& shard) { return *static_cast<ShardContext*>(shard.local()); }
};

// Builds each shard's ShardContext on the shard's own thread (Engine::set_shard_local).
struct ShardBuilder {
    const store::StoreEnvironments& all_envs;
    store::StoreHandles& handles;
    ShardStoreOptions store_options;
    std::shared_ptr<const crypto::KeySet> first_keys;
    const Directory& directory;
    AuthWorkers& auth_workers;
    MailAuthWorkers& mailauth_workers;
    bool mx_checks = true;  // any of [mailauth] check_spf, check_dkim, check_dmarc
    std::int64_t trash_retention_s;
    MailboxWritesOptions writes_options;
    DeliveryOptions delivery_options;
    OutboundOptions outbound_options;
    BounceOptions bounce_options;
    MarkerCleanupOptions marker_cleanup_options;
    std::uint64_t reply_retry_max_ms = 1000;  // a reply the caller's inbox cannot take is sent again
    MaildropLeases* maildrop_leases = nullptr;  // a shared store's POP3 locks in the cluster
    StoreReaders* store_readers = nullptr;      // a shared store's reads off the shards

    Result<std::unique_ptr<ShardLocal>> operator()(Shard& shard) const;
};

// What the protocol services' handlers use of their shard.
SmtpShardParts smtp_parts_of(Shard& shard);
Pop3ShardParts pop3_parts_of(Shard& shard);
SubmissionShardParts submission_parts_of(Shard& shard);

// Every message addressed to a shard (from the control thread and from other shards), through the
// one table; a kind with no row is counted and dropped.
void on_shard_message(Shard& shard, Message& m);

}  // namespace vmx
