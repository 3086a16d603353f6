// vaultmxd's backup schedule ([backup] interval_h): each environment copied through the handle the
// daemon holds (a process must not open an environment twice), on the schedule's own thread.
#include "appliance/daemon/daemon.h"
#include "store/env_copy.h"

namespace vmx {

void Daemon::open_backup_schedule() {
    if (config_.limits.backup_interval_h == 0) return;
    auto copy = [this](const EnvRole& role, const std::string& to) -> Result<void> {
        store::Env* env = nullptr;
        if (!role.global) env = segment_envs_->env(role.segment, role.segment_kind);
        else if (role.global_kind == store::GlobalKind::keys) env = &keys_->env();
        else if (role.global_kind == store::GlobalKind::directory) env = directory_env_.get();
        else env = audit_env_.get();
        if (env == nullptr) return fail(store::StoreErrc::closed);
        if (auto copied = env->copy_to(to); !copied) return copied;
        return store::sync_copy(to);
    };
    const crypto::MasterKey& master = keys_->master();
    BackupScheduleOptions options{config_.backup_dir, config_.limits.backup_interval_h, config_.limits.backup_keep};
    backups_ = std::make_unique<BackupSchedule>(*layout_, std::move(copy),
                                                crypto::copy_of(master),
                                                std::move(options));
}

}  // namespace vmx
