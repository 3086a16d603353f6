// The rewrap walks of the environments a shard owns (mail, temp, smtp-in of each owned segment): the
// store's RewrapJob set up on the right databases, so the rewrap runner (appliance/jobs) schedules
// them without touching storage itself. Shard thread; each job then runs as lane jobs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "appliance/mailstore/shard_store.h"
#include "store/layout.h"
#include "store/rewrap_job.h"

namespace vmx {

struct RewrapWalk {
    std::uint32_t segment = 0;
    store::SegmentKind kind = store::SegmentKind::mail;
    std::unique_ptr<store::RewrapJob> job;
};

// One walk per owned environment that holds sealed records, for the rewrap named `name`; scope_of
// says, per kind, under which scope each owner's records belong.
std::vector<RewrapWalk> rewrap_walks(ShardStore& store, const std::string& name,
                                     const std::function<store::ScopeOf(store::SegmentKind)>& scope_of);

}  // namespace vmx
