// The master-key rotation of the CLI (see master_rotation_command.h).
#include "appliance/cli/master_rotation_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "appliance/admin/client.h"
#include "appliance/cli/local_store.h"
#include "appliance/keys/key_service.h"
#include "appliance/keys/key_setup.h"
#include "core/hex_text.h"
#include "crypto/errc.h"
#include "store/env_copy.h"
#include "store/layout.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_failed = 3;

int say(int status, const std::string& line) {
    std::fprintf(stderr, "vaultmx: key rotate: %s\n", line.c_str());
    return status;
}

std::string errno_line(int error) { return std::error_code(error, std::system_category()).message(); }

// The key file's bytes as they are (hex or raw), written beside `to`, synced and renamed over it.
std::optional<std::string> install_key_file(const std::string& from, const std::string& to) {
    std::string bytes;
    {
        std::ifstream in(from, std::ios::binary);
        if (!in) return "cannot read " + from;
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string part = to + ".new";
    ::unlink(part.c_str());
    const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    std::optional<std::string> failed;
    if (fd < 0) failed = "cannot create " + part + ": " + errno_line(errno);
    for (std::size_t done = 0; !failed && done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) failed = "cannot write " + part + ": " + errno_line(errno);
        else done += static_cast<std::size_t>(n);
    }
    if (!failed && ::fsync(fd) != 0) failed = "cannot sync " + part + ": " + errno_line(errno);
    if (fd >= 0) ::close(fd);
    crypto::secure_wipe({reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size()});
    if (!failed && ::rename(part.c_str(), to.c_str()) != 0) failed = "cannot rename " + part + ": " + errno_line(errno);
    if (!failed && !store::sync_path(std::filesystem::path(to).parent_path().string()))
        failed = "cannot sync the folder of " + to;
    if (failed) ::unlink(part.c_str());
    return failed;
}

// No daemon: the CLI rotates the store itself. True when the store is under the new key now
// (rotated here, or already before: a run stopped before the install); a line otherwise.
std::optional<std::string> rotate_offline(const Config& config, const crypto::MasterKey& current, const crypto::MasterKey& next,
                                          bool& rotated_here) {
    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) return "cannot open the store in " + config.data_dir + ": " + layout.error().message();
    auto opened = open_keys(*layout, crypto::copy_of(current), config.master_key_file);
    if (auto* under_current = std::get_if<OpenedKeys>(&opened)) {
        KeyService keys(std::move(*under_current));
        if (auto r = keys.rotate_master(crypto::copy_of(next)); !r) return "cannot rotate: " + r.error().message();
        rotated_here = true;
        return std::nullopt;
    }
    if (std::holds_alternative<OpenedKeys>(open_keys(*layout, crypto::copy_of(next), "--new-key-file"))) return std::nullopt;
    return std::get<std::string>(opened);
}

}  // namespace

int run_master_rotation(const Config& config, AdminRequest request, int timeout_ms) {
    const auto path = request.field("new-key-file");
    if (!path || path->empty()) return say(exit_usage, "--master needs the new key as --new-key-file PATH (vaultmx reads it)");
    const std::string new_file(*path);
    auto next = crypto::load_master_key_file(new_file);
    if (!next) return say(exit_refused, fmt::format("--new-key-file {}: {}", new_file, next.error().message()));
    auto current = crypto::load_master_key_file(config.master_key_file);
    if (!current)
        return say(exit_failed, fmt::format("cannot read the master key {}: {} (run as root)", config.master_key_file,
                                            current.error().message()));
    if (current->check == next->check) return say(exit_refused, "the new key is the master key already");
    const std::string fingerprint = hex_of(next->check);

    bool rotated_here = false;
    if (daemon_answers(config.admin_socket)) {
        request.secret.assign(reinterpret_cast<const char*>(next->material.view().data()), next->material.size());
        auto reply = admin_call(config.admin_socket, request, timeout_ms);
        crypto::secure_wipe({reinterpret_cast<std::uint8_t*>(request.secret.data()), request.secret.size()});
        if (!reply) return say(exit_failed, "cannot reach the daemon: " + reply.error().message() + " (run the command again)");
        const bool already = reply->status == AdminStatus::refused && reply->text.find("already") != std::string::npos;
        if (reply->status != AdminStatus::ok && !already) {
            std::string text = reply->text;
            while (!text.empty() && text.back() == '\n') text.pop_back();
            return say(reply->status == AdminStatus::refused ? exit_refused : exit_failed, text);
        }
    } else {
        if (auto failed = rotate_offline(config, *current, *next, rotated_here)) return say(exit_failed, *failed);
        if (rotated_here) {
            // The daemon records the commands it runs; with none running the CLI does.
            if (auto wrong = record_in_audit(config, *next, "key rotate", {"--master", "--new-key-file", new_file}, {}))
                return say(exit_failed, "rotated, but " + *wrong + "; install " + new_file + " as " + config.master_key_file);
        }
    }
    if (auto failed = install_key_file(new_file, config.master_key_file))
        return say(exit_failed, "the store is under the new key, but " + *failed + ": copy " + new_file + " to " +
                                    config.master_key_file + " (mode 0600) before the daemon starts again");
    std::printf("master key rotated: the store is under the key with fingerprint %s, now in %s; the old key opens "
                "nothing from now on (backups made before need it: keep it with them, or make a new backup). "
                "Remove %s once the new key is kept safe elsewhere.\n",
                fingerprint.c_str(), config.master_key_file.c_str(), new_file.c_str());
    return 0;
}

}  // namespace vmx
