// The backup schedule ([backup] interval_h, keep, dir), run by the daemon: every interval_h after
// the newest finished backup in [backup] dir, a new one (vaultmx-<UTC time>) is made on a thread of
// its own, copying through the daemon's own environment handles; once it is finished, the oldest
// scheduled backups past `keep` are removed. Threads: tick() and age_hours() on the control thread;
// the copy on the schedule's thread, which touches only the environments (read snapshots) and the
// backup folder. Failure policy: a failed backup is an event (`backup.failed`), its folder left for
// an admin to read, and the next try waits a tenth of the interval (at least a minute); the age
// alarm (backup_too_old) says when the newest good one grows old. At stop the running copy is
// finished first (a backup takes seconds per GiB).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

#include "appliance/lifecycle/backup.h"

namespace vmx {

struct BackupScheduleOptions {
    std::string dir;               // [backup] dir, made by init and owned by the service user
    std::uint32_t interval_h = 0;  // 0: no schedule
    std::uint32_t keep = 7;
};

class BackupSchedule {
public:
    BackupSchedule(const store::StoreLayout& layout, CopyEnvironment copy, crypto::MasterKey master,
                   BackupScheduleOptions options);
    ~BackupSchedule();
    BackupSchedule(const BackupSchedule&) = delete;
    BackupSchedule& operator=(const BackupSchedule&) = delete;

    // Starts a due backup, or collects a finished one. Control thread, once a second or so.
    void tick(std::int64_t now_unix);
    // Hours since the newest finished backup was made; nothing when there is none yet and none
    // was expected (a schedule just set up counts from its start).
    std::optional<double> age_hours(std::int64_t now_unix) const;
    bool running() const noexcept { return thread_.joinable(); }
    // After a master-key rotation: the next backup's manifest is sealed under `master` (a running
    // one finishes under the key it began with, its own copy). Control thread.
    void set_master(crypto::MasterKey master) { master_ = std::move(master); }

private:
    void collect(std::int64_t now_unix);
    void prune();

    const store::StoreLayout& layout_;
    CopyEnvironment copy_;
    crypto::MasterKey master_;
    BackupScheduleOptions options_;
    std::string meta_;                    // the data folder's meta, read while the daemon is root
    std::optional<std::int64_t> newest_;  // creation time of the newest finished backup
    std::int64_t started_unix_ = 0;       // the schedule's start (the age before any backup)
    std::int64_t next_try_unix_ = 0;
    std::thread thread_;
    std::atomic<bool> finished_{false};
    std::string running_dir_;
    std::int64_t running_since_ = 0;
    std::variant<BackupCreated, std::string> outcome_;
};

}  // namespace vmx
