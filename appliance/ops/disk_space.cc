// Free space of a folder's file system (see disk_space.h).
#include "appliance/ops/disk_space.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

namespace vmx {

Result<DiskSpace> DiskSpace::open(const std::string& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno);
    return DiskSpace(fd);
}

DiskSpace::~DiskSpace() {
    if (fd_ >= 0) ::close(fd_);
}

std::optional<std::uint64_t> DiskSpace::free_bytes() const {
    struct statvfs st {};
    if (::fstatvfs(fd_, &st) != 0) return std::nullopt;
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

std::optional<double> DiskSpace::free_percent() const {
    struct statvfs st {};
    if (::fstatvfs(fd_, &st) != 0 || st.f_blocks == 0) return std::nullopt;
    return 100.0 * static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
}

}  // namespace vmx
