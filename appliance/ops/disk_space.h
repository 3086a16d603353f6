// DiskSpace: free bytes on the file system of one folder (the metrics gauge of [paths] data), read
// through a descriptor opened at start-up, before the privilege drop: the daemon's user may not be
// able to reach the folder by its path afterwards. Owns the descriptor; any one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace vmx {

class DiskSpace {
public:
    static Result<DiskSpace> open(const std::string& folder);
    DiskSpace(DiskSpace&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    DiskSpace& operator=(DiskSpace&&) = delete;
    DiskSpace(const DiskSpace&) = delete;
    DiskSpace& operator=(const DiskSpace&) = delete;
    ~DiskSpace();

    // Bytes an unprivileged writer may still use; empty if the file system cannot say.
    std::optional<std::uint64_t> free_bytes() const;
    // The same as a percentage of the file system's size (the disk_low alarm).
    std::optional<double> free_percent() const;

private:
    explicit DiskSpace(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace vmx
