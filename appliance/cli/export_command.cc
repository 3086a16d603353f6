// `vaultmx user export` (see export_command.h).
#include "appliance/cli/export_command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "appliance/admin/client.h"
#include "core/clock.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_failed = 3;
constexpr int exit_forbidden = 4;
constexpr std::uint64_t progress_interval_ms = 250;  // a terminal line redrawn four times a second

std::error_code errno_code() { return {errno, std::generic_category()}; }

// FILE.part: ours alone (0600 whatever the umask, never through a symbolic link), removed again
// unless keep() was called after a successful rename.
class PartFile {
public:
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;
    ~PartFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!kept_ && created_) ::unlink(path_.c_str());
    }

    // An existing FILE.part (an export that was killed) is replaced only with --force.
    static Result<std::unique_ptr<PartFile>> create(const std::string& path, bool force) {
        if (force && ::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(errno_code());
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) return fail(errno_code());
        std::unique_ptr<PartFile> file(new PartFile(path, fd));
        if (::fchmod(fd, 0600) != 0) return fail(errno_code());  // a umask can only take bits away; be sure
        return file;
    }

    Result<void> write(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail(errno_code());
            bytes.remove_prefix(static_cast<std::size_t>(n));
            written_ += static_cast<std::uint64_t>(n);
        }
        return {};
    }

    // Durable, then in place under its final name (replacing FILE only when `force`).
    Result<void> finish(const std::string& final_path, bool force) {
        if (::fsync(fd_) != 0) return fail(errno_code());
        const int closed = ::close(fd_);
        fd_ = -1;
        if (closed != 0) return fail(errno_code());
        const unsigned flags = force ? 0 : RENAME_NOREPLACE;  // a FILE made meanwhile is not overwritten
        if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, final_path.c_str(), flags) != 0) return fail(errno_code());
        kept_ = true;
        sync_folder(final_path);
        return {};
    }

    std::uint64_t written() const noexcept { return written_; }

private:
    PartFile(std::string path, int fd) : path_(std::move(path)), fd_(fd), created_(true) {}

    // The rename is durable once the folder is synced; a failure here loses nothing written.
    static void sync_folder(const std::string& file) {
        const std::size_t slash = file.rfind('/');
        const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
        const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return;
        (void)::fsync(fd);
        ::close(fd);
    }

    std::string path_;
    int fd_ = -1;
    bool created_ = false;
    bool kept_ = false;
    std::uint64_t written_ = 0;
};

class Progress {
public:
    Progress() : shown_(::isatty(STDERR_FILENO) == 1) {}
    void update(std::uint64_t bytes) {
        if (!shown_) return;
        const std::uint64_t now = monotonic_ms();
        if (now - last_ms_ < progress_interval_ms) return;
        last_ms_ = now;
        std::fprintf(stderr, "\rvaultmx: user export: %.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
        (void)std::fflush(stderr);  // progress only: a lost line is no failure
        drawn_ = true;
    }
    void clear() {
        if (drawn_) (void)std::fputs("\r\033[K", stderr);
        drawn_ = false;
    }

private:
    bool shown_;
    bool drawn_ = false;
    std::uint64_t last_ms_ = 0;
};

int status_exit(AdminStatus s) {
    if (s == AdminStatus::refused) return exit_refused;
    return s == AdminStatus::forbidden ? exit_forbidden : exit_failed;
}

int complain(const std::string& text, int status = exit_failed) {
    std::fprintf(stderr, "vaultmx: user export: %s\n", text.c_str());
    return status;
}

}  // namespace

int run_user_export(const Config& config, const AdminRequest& request, int timeout_ms) {
    const std::string out(request.field("out").value_or(""));
    const bool force = request.has("force");
    if (out.empty()) return complain("--out FILE is required", exit_refused);
    struct stat st {};
    if (!force && ::lstat(out.c_str(), &st) == 0) return complain(out + " exists; remove it or give --force", exit_refused);
    const std::string part_path = out + ".part";
    auto part = PartFile::create(part_path, force);
    if (!part) {
        if (part.error() == std::errc::file_exists)
            return complain(part_path + " exists (an export that stopped?); remove it or give --force", exit_refused);
        return complain("cannot create " + part_path + ": " + part.error().message());
    }
    Progress progress;
    std::error_code write_error;
    auto reply = admin_stream(config.admin_socket, request, timeout_ms, [&](std::string_view bytes) -> Result<void> {
        if (auto written = (*part)->write(bytes); !written) {
            write_error = written.error();
            return written;
        }
        progress.update((*part)->written());
        return {};
    });
    progress.clear();
    if (write_error) return complain("cannot write " + part_path + ": " + write_error.message());
    if (!reply) {
        const bool down = reply.error() == std::errc::no_such_file_or_directory ||
                          reply.error() == std::errc::connection_refused;
        return complain("cannot reach the daemon at " + config.admin_socket + ": " + reply.error().message() +
                        (down ? " (is vaultmxd running?)" : ""));
    }
    std::string text = reply->text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (reply->status != AdminStatus::ok) {
        std::fprintf(stderr, "vaultmx: user export: %s (nothing written to %s)\n", text.c_str(), out.c_str());
        return status_exit(reply->status);
    }
    if (auto done = (*part)->finish(out, force); !done) {
        if (done.error() == std::errc::file_exists)
            return complain(out + " appeared meanwhile; remove it or give --force", exit_refused);
        return complain("cannot finish " + out + ": " + done.error().message());
    }
    std::printf("%s, written to %s\n", text.c_str(), out.c_str());
    return std::fflush(stdout) == 0 ? 0 : exit_failed;
}

}  // namespace vmx
