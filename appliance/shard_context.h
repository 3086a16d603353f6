// What the appliance keeps per shard (the shard's ShardLocal): its store side and its live
// sessions. Built on the shard thread at setup, reached through Shard::local(); shard thread only.
#pragma once

#include <memory>

#include "appliance/sessions.h"
#include "appliance/shard_store.h"
#include "core/shard.h"

namespace vmx {

struct ShardContext final : ShardLocal {
    std::unique_ptr<ShardStore> store;        // destroyed last: its lane finishes queued writes
    std::unique_ptr<ShardSessions> sessions;

    static ShardContext& of(Shard& shard) { return *static_cast<ShardContext*>(shard.local()); }
};

}  // namespace vmx
