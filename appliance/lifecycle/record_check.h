// Opens every sealed record of one environment with a key set, to prove a copy is readable, not
// only intact: in each database whose keys name their records, every value that is a sealed record
// is opened under the identity its key gives (a one-chunk record whole, a stream chunk by chunk in
// order, to its final chunk). A record of another identity, a changed byte, a missing or extra
// chunk, or a key the set lacks (destroyed: crypto-shredded) is a failure, named by database and
// position. Values that are not sealed records (counters, indexes, saved positions) are counted
// apart. Reads only; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keyring.h"
#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {

struct RecordCheck {
    std::uint64_t opened = 0;     // sealed records (and stream chunks) that opened
    std::uint64_t unsealed = 0;   // values that are not sealed records
    std::uint64_t shredded = 0;   // records whose key was destroyed: unreadable by design
    std::vector<std::string> failures;  // at most failures_max, then counted
    std::uint64_t failures_total = 0;
    static constexpr std::size_t failures_max = 20;
};

// Where an environment sits in the store: what its records are sealed as.
struct EnvRole {
    bool global = false;
    store::GlobalKind global_kind = store::GlobalKind::directory;
    store::SegmentKind segment_kind = store::SegmentKind::mail;
    std::uint32_t segment = 0;
};

// Every database of `env` (opened read-only) checked; `label` names the environment in failures.
RecordCheck check_records(store::Env& env, const EnvRole& role, const crypto::KeySet& keys, const std::string& label);

}  // namespace vmx
