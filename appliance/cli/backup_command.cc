// The backup commands of the CLI (see backup_command.h).
#include "appliance/cli/backup_command.h"

#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "appliance/cli/local_store.h"
#include "appliance/common/json_text.h"
#include "appliance/common/service_account.h"
#include "appliance/lifecycle/backup.h"
#include "core/log_sink.h"
#include "crypto/master_key.h"
#include "core/hex_text.h"
#include "store/key_store.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_failed = 3;

// One line, rewritten in place, while stderr is a terminal.
BackupProgressFn progress_line(std::string_view action) {
    if (::isatty(STDERR_FILENO) == 0) return {};
    return [action](const BackupProgress& p) {
        const int width = 30;
        const int filled = p.items == 0 ? 0 : static_cast<int>(width * p.done_items / p.items);
        std::fprintf(stderr, "\rvaultmx: backup %.*s [%-*s] %zu/%zu %-8.*s %-20.*s", static_cast<int>(action.size()),
                     action.data(), width, std::string(static_cast<std::size_t>(filled), '#').c_str(), p.done_items,
                     p.items, static_cast<int>(p.step.size()), p.step.data(), static_cast<int>(p.item.size()),
                     p.item.data());
        (void)std::fflush(stderr);
    };
}

void end_progress(const BackupProgressFn& progress) {
    if (progress) std::fprintf(stderr, "\r%100s\r", "");
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

int fail_with(std::string_view action, const std::string& line, int status) {
    std::fprintf(stderr, "vaultmx: backup %.*s: %s\n", static_cast<int>(action.size()), action.data(), line.c_str());
    return status;
}

std::optional<crypto::MasterKey> master_key(const Config& config, std::string_view action) {
    auto master = crypto::load_master_key_file(config.master_key_file);
    if (!master) {
        (void)fail_with(action, fmt::format("cannot read the master key {}: {} (backups run as root)", config.master_key_file,
                                            master.error().message()),
                        exit_failed);
        return std::nullopt;
    }
    return std::move(*master);
}

// The command's status once it is in the audit chain: a command that could not be recorded fails.
int recorded(const Config& config, const crypto::MasterKey& master, std::string_view action, const std::string& dir,
             int status, const std::string& failure) {
    if (auto wrong = record_in_audit(config, master, "backup " + std::string(action), {dir}, failure)) {
        std::fprintf(stderr, "vaultmx: backup %.*s: %s\n", static_cast<int>(action.size()), action.data(), wrong->c_str());
        return status == 0 ? exit_failed : status;
    }
    return status;
}

int create(const Config& config, const BackupCommand& c) {
    auto master = master_key(config, "create");
    if (!master) return exit_failed;
    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) return fail_with("create", fmt::format("cannot open the store in {}: {}", config.data_dir, layout.error().message()), exit_failed);
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    const std::string to = c.dir.empty() ? config.backup_dir + "/" + backup_folder_name(now) : c.dir;
    const auto started = std::chrono::steady_clock::now();
    const auto progress = progress_line("create");
    auto meta = read_store_meta(*layout);
    if (meta.index() == 1) return fail_with("create", std::get<1>(meta), exit_failed);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(to).parent_path(), ec);  // [backup] dir on first use
    auto created = create_backup(*layout, copy_beside_daemon(*layout), std::get<0>(meta), *master, to, now, progress);
    end_progress(progress);
    if (auto* wrong = std::get_if<std::string>(&created))
        return recorded(config, *master, "create", to, fail_with("create", *wrong, exit_failed), *wrong);
    const auto& done = std::get<BackupCreated>(created);
    // In [backup] dir the service user owns it, as its own scheduled ones: vaultmxd takes shredded
    // keys out of every backup there (lifecycle/backup_keys.h).
    if (::geteuid() == 0 && std::filesystem::path(to).parent_path() == std::filesystem::path(config.backup_dir)) {
        std::string error_line;
        auto account = resolve_service_account(config.service_user, config.service_group, error_line);
        if (account) {
            if (auto not_owned = own_tree(to, *account))
                return recorded(config, *master, "create", to, fail_with("create", "service.user: " + *not_owned, exit_failed), *not_owned);
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("backup %s: %zu files, %s in %.1f s (%.0f MB/s)\n", to.c_str(), done.files, mib(done.bytes).c_str(), seconds,
                seconds > 0 ? static_cast<double>(done.bytes) / 1e6 / seconds : 0.0);
    return recorded(config, *master, "create", to, 0, {});
}

int verify(const Config& config, const BackupCommand& c) {
    auto master = master_key(config, "verify");
    if (!master) return exit_failed;
    const auto started = std::chrono::steady_clock::now();
    const auto progress = progress_line("verify");
    const BackupReport report = verify_backup(c.dir, *master, progress);
    end_progress(progress);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!report.problems.empty()) {
        for (const std::string& problem : report.problems) std::fprintf(stderr, "vaultmx: backup verify: %s\n", problem.c_str());
        const std::string summary = fmt::format("{}: {} problem(s): the backup is not good", c.dir, report.problems.size());
        const int status = fail_with("verify", summary, exit_failed);
        return store::StoreLayout::open(config.data_dir, config.store) ? recorded(config, *master, "verify", c.dir, status, summary)
                                                                        : status;
    }
    std::printf("backup %s: good: %zu files, %s, %llu records opened (%llu of destroyed keys), made %s, in %.1f s (%.0f MB/s)\n",
                c.dir.c_str(), report.files, mib(report.bytes).c_str(), static_cast<unsigned long long>(report.records),
                static_cast<unsigned long long>(report.shredded), format_utc_seconds(report.manifest->created_unix).c_str(), seconds,
                seconds > 0 ? static_cast<double>(report.bytes) / 1e6 / seconds : 0.0);
    return store::StoreLayout::open(config.data_dir, config.store) ? recorded(config, *master, "verify", c.dir, 0, {}) : 0;
}

int restore(const Config& config, const BackupCommand& c) {
    if (daemon_answers(config.admin_socket))
        return fail_with("restore", "vaultmxd is running on this instance: stop it first (restore rebuilds an empty data folder)",
                         exit_refused);
    auto master = master_key(config, "restore");
    if (!master) return exit_failed;
    std::string error_line;
    auto account = resolve_service_account(config.service_user, config.service_group, error_line);
    if (!account && ::geteuid() == 0) return fail_with("restore", error_line, exit_refused);
    const auto started = std::chrono::steady_clock::now();
    const auto progress = progress_line("restore");
    auto failed = restore_backup(c.dir, *master, config.data_dir, config.store, progress);
    end_progress(progress);
    if (failed) return fail_with("restore", *failed, exit_refused);
    // As init: the service user owns the store's folders (kind paths outside the data folder too).
    if (::geteuid() == 0) {
        std::vector<std::string> folders{config.data_dir};
        for (const std::string* path : {&config.store.mail_path, &config.store.temp_path, &config.store.smtp_in_path,
                                        &config.store.smtp_out_path})
            if (!path->empty() && path->front() == '/') folders.push_back(*path);
        for (const std::string& folder : folders)
            if (auto not_owned = own_tree(folder, *account)) return fail_with("restore", "service.user: " + *not_owned, exit_failed);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("restored %s into %s in %.1f s; start vaultmxd\n", c.dir.c_str(), config.data_dir.c_str(), seconds);
    // The restored chain records its own restore (a refused restore has no chain to record it in).
    return recorded(config, *master, "restore", c.dir, 0, {});
}

int list(const Config& config, const BackupCommand& c) {
    const auto listings = list_backups(config.backup_dir);
    std::string out = c.json ? "[" : "";
    for (std::size_t i = 0; i < listings.size(); ++i) {
        const BackupListing& l = listings[i];
        const auto* header = std::get_if<BackupHeader>(&l.header);
        const std::string status = header ? "complete" : std::get<std::string>(l.header);
        if (c.json) {
            out += fmt::format("{}{{\"dir\":{},\"status\":{},\"bytes\":{}", i == 0 ? "" : ",", json_string(l.dir),
                               json_string(status), l.bytes);
            if (header)
                out += fmt::format(",\"created\":{},\"master\":{}", json_string(format_utc_seconds(header->created_unix)),
                                   json_string(hex_of(header->master_check)));
            out += "}";
        } else {
            out += fmt::format("{}  {}  {}  {}\n", l.dir, header ? format_utc_seconds(header->created_unix) : std::string("-"),
                               mib(l.bytes), status);
        }
    }
    if (c.json) out += "]\n";
    else if (listings.empty()) out = fmt::format("no backups in {}\n", config.backup_dir);
    return std::fputs(out.c_str(), stdout) == EOF ? exit_failed : 0;
}

}  // namespace

int run_backup_command(const Config& config, const BackupCommand& command) {
    if (command.action == "create") return create(config, command);
    if (command.action == "verify") return verify(config, command);
    if (command.action == "restore") return restore(config, command);
    return list(config, command);
}

}  // namespace vmx
