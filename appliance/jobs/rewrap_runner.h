// Rewrap after a key rotation, on one shard: walks every record of the segments the shard owns
// (mail, temp, smtp-in) with store::RewrapJob, moving each record's data key to its scope's active
// key version. Each step is a lane job (the job commits its position with its changes, so a crash
// resumes where it stopped); steps are small and spaced so service goes on. Progress goes to the
// control thread, which destroys the retired key version once every shard is done.
// Shard thread only; the steps themselves run on the shard's lane thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "appliance/directory/directory.h"
#include "appliance/mailstore/rewrap_walks.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/common/message_kinds.h"
#include "core/message.h"
#include "core/shard.h"
#include "store/rewrap_job.h"

namespace vmx {


// control -> shard: walk the shard's records for this rotation (the name keeps its position).
struct RewrapStart final : MessagePayload {
    std::string name;
};

// shard -> control: totals so far; done once the shard walked everything.
struct RewrapReport final : MessagePayload {
    std::string name;
    std::uint64_t scanned = 0;
    std::uint64_t rewrapped = 0;
    std::uint64_t failed = 0;
    bool done = false;
};

struct RewrapOptions {
    std::size_t batch = 256;          // records per step (one lane transaction)
    std::uint64_t pause_ms = 2;       // between steps, so the lane serves mail in between
};

class RewrapRunner {
public:
    RewrapRunner(Shard& shard, ShardStore& store, const Directory& directory, RewrapOptions options = {})
        : shard_(shard), store_(store), directory_(directory), options_(options) {}

    // Starts (or resumes) the walk named `name`; a walk already running under that name goes on.
    void start(const std::string& name);

private:
    void step();
    void report(bool done);
    store::ScopeOf scope_of(store::SegmentKind kind, std::shared_ptr<const crypto::KeySet> keys) const;

    Shard& shard_;
    ShardStore& store_;
    const Directory& directory_;
    RewrapOptions options_;
    std::string name_;
    std::vector<RewrapWalk> walks_;
    std::size_t current_ = 0;
    bool running_ = false;
    store::RewrapProgress total_;
};

}  // namespace vmx
