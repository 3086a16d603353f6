// What the appliance keeps per shard (the shard's ShardLocal): its store side, mailbox writes,
// local delivery and live sessions. Built on the shard thread at setup, reached through
// Shard::local(); shard thread only.
#pragma once

#include <memory>

#include "appliance/auth_workers.h"
#include "appliance/local_delivery.h"
#include "appliance/mailbox_writes.h"
#include "appliance/rewrap_runner.h"
#include "appliance/pop3_maildrop.h"
#include "appliance/sessions.h"
#include "appliance/shard_store.h"
#include "appliance/trash_purge.h"
#include "core/shard.h"
#include "store/lmdb.h"

namespace vmx {

struct ShardContext final : ShardLocal {
    // Destroyed in reverse order: the store last, so its lane finishes the writes queued by the others.
    std::unique_ptr<ShardStore> store;
    std::unique_ptr<MailboxWrites> writes;
    std::unique_ptr<LocalDelivery> delivery;
    std::unique_ptr<ShardSessions> sessions;
    std::unique_ptr<TrashPurge> trash_purge;
    std::unique_ptr<RewrapRunner> rewrap;
    std::unique_ptr<ShardAuth> auth;               // POP3 password checks through the auth workers
    std::unique_ptr<Pop3Maildrops> maildrops;      // POP3 maildrop locks and deletions this shard owns
    store::Env* directory_env = nullptr;  // the global directory, read by this shard

    static ShardContext& of(Shard& shard) { return *static_cast<ShardContext*>(shard.local()); }
};

}  // namespace vmx
