// The control thread's rewrap walk (see global_rewrap.h).
#include "appliance/jobs/global_rewrap.h"

#include "appliance/directory/ban_records.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "appliance/directory/support_grants.h"

namespace vmx {

Result<void> GlobalRewrap::start(const std::string& name) {
    jobs_.clear();
    current_ = 0;
    total_ = {};
    auto made = make_jobs(name);
    if (!made) {
        // Nothing walked here: counted as a failure, so the retired versions are kept.
        jobs_.clear();
        total_.failed = 1;
    }
    return made;
}

Result<void> GlobalRewrap::make_jobs(const std::string& name) {
    auto state = directory_env_.open_dbi("rewrap");
    if (!state) return fail(state.error());
    using IdentityOf = std::optional<crypto::RecordIdentity> (*)(std::span<const std::uint8_t>);
    const std::pair<const char*, IdentityOf> databases[] = {
        {"records", stored_directory_identity},
        {"logins", stored_login_identity},
        {"bans", stored_ban_identity},
        {"support", stored_support_grant_identity},
    };
    for (const auto& entry : databases) {
        const char* database = entry.first;
        IdentityOf identity_of = entry.second;  // a named copy: clang cannot capture a structured binding
        auto data = directory_env_.open_dbi(database);
        if (!data) return fail(data.error());
        auto target = [identity_of](store::Bytes key) -> std::optional<store::RewrapTarget> {
            auto identity = identity_of(key);
            if (!identity) return std::nullopt;
            return store::RewrapTarget{appliance_scope, *identity};
        };
        jobs_.push_back(std::make_unique<store::RewrapJob>(directory_env_, *data, *state, name + "/" + database, target));
    }
    if (audit_ != nullptr) {
        auto audit = audit_->rewrap_job();
        if (!audit) return fail(audit.error());
        jobs_.push_back(std::make_unique<store::RewrapJob>(std::move(*audit)));
    }
    return {};
}

Result<void> GlobalRewrap::step(const crypto::KeySet& keys, std::size_t batch) {
    if (!running()) return {};
    auto p = jobs_[current_]->step(keys, batch);
    if (!p) return fail(p.error());
    total_.scanned += p->scanned;
    total_.rewrapped += p->rewrapped;
    total_.skipped += p->skipped;
    total_.failed += p->failed;
    if (p->done) ++current_;
    total_.done = !running();
    return {};
}

}  // namespace vmx
