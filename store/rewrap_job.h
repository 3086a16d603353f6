// RewrapJob: drives key rotation (and plan changes) over one database of one environment. Each
// step() rewraps the data keys of up to `batch` records whose key is not their scope's active key,
// and saves its position in the same durable transaction, so a crash loses at most the step in
// progress and the job resumes where it stopped. Bodies are never decrypted or rewritten (see
// crypto/sealed_record.h). The caller throttles by choosing batch sizes and how often to call.
// Runs on the environment's writer (the shard's store lane, or the control thread for globals).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"

namespace vmx::store {

struct RewrapProgress {
    std::uint64_t scanned = 0;    // records looked at
    std::uint64_t rewrapped = 0;  // moved to their scope's active key
    std::uint64_t skipped = 0;    // not sealed records, or an owner without a scope
    std::uint64_t failed = 0;     // could not be rewrapped (e.g. the old key was destroyed)
    bool done = false;            // the whole database has been walked
};

// The scope whose active key an owner's records must be under (nullopt: leave them alone).
using ScopeOf = std::function<std::optional<crypto::Scope>(std::uint64_t owner)>;

// What a record's database key says of it: the identity it is sealed for and the scope whose active
// key it must be under (nullopt: not a sealed record of this walk; left alone).
struct RewrapTarget {
    crypto::Scope scope;
    crypto::RecordIdentity identity;
};
using TargetOf = std::function<std::optional<RewrapTarget>(Bytes key)>;

class RewrapJob {
public:
    // `name` identifies the job's saved position in `state` (a database of the same environment).
    // Records keyed as store/record_key.h says (mailboxes, queues, temp, audit).
    RewrapJob(Env& env, Dbi data, Dbi state, crypto::StoreKind kind, std::uint32_t segment, std::string name,
              ScopeOf scope_of);
    // Records of any key shape (the directory's, the login history's).
    RewrapJob(Env& env, Dbi data, Dbi state, std::string name, TargetOf target_of);

    Result<RewrapProgress> step(const crypto::KeySet& keys, std::size_t batch);
    const RewrapProgress& progress() const noexcept { return total_; }

private:
    Env& env_;
    Dbi data_;
    Dbi state_;
    std::string name_;
    TargetOf target_of_;
    RewrapProgress total_;
};

}  // namespace vmx::store
