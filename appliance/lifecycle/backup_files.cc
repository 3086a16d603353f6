// Shared file steps of the backup writers (see backup_files.h).
#include "appliance/lifecycle/backup_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "store/env_copy.h"

namespace vmx {
namespace fs = std::filesystem;

std::string errno_text(int error) { return std::error_code(error, std::system_category()).message(); }

// Writes `bytes` to path.part, syncs it, renames it to path and syncs the folder.
std::optional<std::string> write_durably(const std::string& path, std::string_view bytes) {
    const std::string part = path + ".part";
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fmt::format("cannot create {}: {}", part, errno_text(errno));
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return fmt::format("cannot write {}: {}", part, errno_text(error));
        }
        written += static_cast<std::size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    const int error = errno;
    ::close(fd);
    if (!synced) return fmt::format("cannot sync {}: {}", part, errno_text(error));
    if (::rename(part.c_str(), path.c_str()) != 0) return fmt::format("cannot rename {}: {}", part, errno_text(errno));
    if (!store::sync_path(fs::path(path).parent_path().string())) return fmt::format("cannot sync the folder of {}", path);
    return std::nullopt;
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t bytes_max, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fmt::format("cannot read {}", path);
    std::ostringstream text;
    text << in.rdbuf();
    out = std::move(text).str();
    if (out.size() > bytes_max) return fmt::format("{} is larger than expected", path);
    return std::nullopt;
}

}  // namespace vmx
