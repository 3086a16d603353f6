// The control thread's side of a rewrap: after a rotation it asks every shard to walk its records
// (RewrapRunner), walks the control thread's own (GlobalRewrap: directory, login history, bans,
// support grants, audit) from tick(), collects the progress for `vaultmx key status`, and when
// every part is done without failures destroys the retired key versions. At start-up a rewrap left unfinished by a
// crash is started again (its walks resume from their saved positions). Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "appliance/keys/key_service.h"
#include "appliance/jobs/global_rewrap.h"
#include "appliance/jobs/rewrap_runner.h"
#include "core/message.h"

namespace vmx {

class RewrapControl {
public:
    using ToShard = std::function<bool(std::uint32_t shard, Message)>;
    RewrapControl(KeyService& keys, std::uint32_t shards, ToShard to_shard, GlobalRewrap* global = nullptr)
        : keys_(keys), shards_(shards), to_shard_(std::move(to_shard)), global_(global) {}
    // One step of the control thread's own walk, if one runs. From the control loop's tick.
    void tick();

    enum class Reason : std::uint8_t { rotation, plan_change };
    // Starts a walk over every shard for the versions retiring now (none: nothing to do), or, after
    // a plan change, to move an organisation's records to its new scope.
    void start(Reason reason = Reason::rotation);
    // Records sealed before account keys existed move to them with the next walk (one is started
    // now if none runs); `done` is called once a walk finished with no failures.
    void migrate_accounts(std::function<void()> done);
    void on_report(std::uint32_t shard, const RewrapReport& report);
    // One line for `key status`.
    std::string status() const;

private:
    struct ShardProgress {
        std::uint64_t scanned = 0;
        std::uint64_t rewrapped = 0;
        std::uint64_t failed = 0;
        bool done = false;
    };
    void finish_when_done();
    void finish();

    KeyService& keys_;
    std::uint32_t shards_;
    ToShard to_shard_;
    GlobalRewrap* global_;
    std::string name_;                       // the current walk; empty when none ever ran
    std::vector<crypto::KeyRef> retiring_;   // destroyed when the walk ends cleanly
    std::map<std::uint32_t, ShardProgress> progress_;
    std::string last_outcome_;
    std::uint32_t walks_ = 0;
    std::function<void()> accounts_migrated_;  // set while the migration to account keys is owed
};

}  // namespace vmx
