// One writer at a time in a folder of backups: `backup create` (the CLI's or the daemon's
// schedule) and the scrub that takes shredded keys out of every backup there (backup_keys.h) both
// hold an flock on PARENT/.lock, so a scrub never misses a backup being written and never edits one
// half-written. The file is readable by all (0644: the service user may open a lock root made);
// the lock is the kernel's and goes with the process. Any thread.
#pragma once

#include <optional>
#include <string>

namespace vmx {

class BackupLock {
public:
    // Waits for the lock when `wait`, else gives up at once (nullopt: someone holds it). nullopt
    // also when the lock file cannot be opened or made; `why` then says so.
    static std::optional<BackupLock> take(const std::string& parent, bool wait, std::string* why = nullptr);
    ~BackupLock();
    BackupLock(BackupLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    BackupLock& operator=(BackupLock&&) = delete;
    BackupLock(const BackupLock&) = delete;
    BackupLock& operator=(const BackupLock&) = delete;

private:
    explicit BackupLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace vmx
