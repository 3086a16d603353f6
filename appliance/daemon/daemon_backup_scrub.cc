// Shredding reaches the key backups: after a key is destroyed (and at start, for what a stop
// interrupted), every finished backup in [backup] dir loses the keys the live store has shredded
// (lifecycle/backup_keys.h). On the control thread, under the folder's lock taken without waiting:
// while a backup is being written the scrub is tried again at the next tick, so a backup whose key
// copy predates the shredding is scrubbed once it is whole.
#include <filesystem>

#include "appliance/daemon/daemon.h"
#include "appliance/lifecycle/backup_keys.h"
#include "appliance/lifecycle/backup_lock.h"
#include "core/log.h"

namespace vmx {

void Daemon::scrub_backups() {
    if (!backup_scrub_owed_) return;
    std::error_code ec;
    if (!std::filesystem::is_directory(config_.backup_dir, ec)) {
        backup_scrub_owed_ = false;  // no backup was ever made here
        return;
    }
    const auto lock = BackupLock::take(config_.backup_dir, false);
    if (!lock) return;  // a backup is being written: next tick
    backup_scrub_owed_ = false;
    for (const BackupListing& b : list_backups(config_.backup_dir)) {
        if (!std::holds_alternative<BackupHeader>(b.header)) continue;  // unfinished: holds no manifest to bind
        auto scrubbed = scrub_backup_keys(b.dir, keys_->records(), keys_->master());
        if (const auto* wrong = std::get_if<std::string>(&scrubbed))
            log_event(LogLevel::error, "backup.scrub_failed", "dir={} error=\"{}\"", b.dir, *wrong);
        else if (std::get<std::size_t>(scrubbed) > 0)
            log_event(LogLevel::info, "backup.keys_scrubbed", "dir={} keys={}", b.dir, std::get<std::size_t>(scrubbed));
    }
}

}  // namespace vmx
