// The lock of a folder of backups (see backup_lock.h).
#include "appliance/lifecycle/backup_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "appliance/lifecycle/backup_files.h"

namespace vmx {

std::optional<BackupLock> BackupLock::take(const std::string& parent, bool wait, std::string* why) {
    const std::string path = parent + "/.lock";
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);  // made by another user
    if (fd < 0) {
        if (why) *why = "cannot open " + path + ": " + errno_text(errno);
        return std::nullopt;
    }
    int rc = 0;
    do rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (why) *why = errno == EWOULDBLOCK ? path + " is held (a backup is being written)" : "cannot lock " + path + ": " + errno_text(errno);
        ::close(fd);
        return std::nullopt;
    }
    return BackupLock(fd);
}

BackupLock::~BackupLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace vmx
