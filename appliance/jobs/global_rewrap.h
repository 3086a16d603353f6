// The control thread's part of a rewrap: the records only the control thread writes, all sealed
// under the appliance key (the directory's records, the login history, the bans, the support
// grants, the audit chain), walked in bounded steps from the control loop's tick. Each step is one
// transaction that saves its position with its changes (store::RewrapJob), so a crash resumes
// where it stopped; steps are small (a few hundred records) so the control loop goes on between
// them. Failure policy: a step that fails ends nothing; it is tried again at the next tick, and a
// record that cannot be rewrapped is counted (the retired version is then kept). Control thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "appliance/audit/audit_log.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"
#include "store/rewrap_job.h"

namespace vmx {

class GlobalRewrap {
public:
    GlobalRewrap(store::Env& directory_env, AuditLog* audit) : directory_env_(directory_env), audit_(audit) {}

    // A walk named `name` over every control-thread database (a running one is replaced). One that
    // cannot start counts one failure, so the rewrap it belongs to keeps the retired versions.
    Result<void> start(const std::string& name);
    // One step of up to `batch` records of the current database; done() once all were walked.
    Result<void> step(const crypto::KeySet& keys, std::size_t batch);
    bool running() const noexcept { return current_ < jobs_.size(); }
    const store::RewrapProgress& progress() const noexcept { return total_; }

private:
    Result<void> make_jobs(const std::string& name);

    store::Env& directory_env_;
    AuditLog* audit_;
    std::vector<std::unique_ptr<store::RewrapJob>> jobs_;
    std::size_t current_ = 0;
    store::RewrapProgress total_;
};

}  // namespace vmx
