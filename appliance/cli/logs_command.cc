// `vaultmx logs show` (see logs_command.h).
#include "appliance/cli/logs_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "appliance/admin/client.h"
#include "appliance/admin/command_handlers.h"
#include "appliance/keys/key_setup.h"
#include "appliance/ops/log_line.h"
#include "appliance/ops/log_spool.h"
#include "core/clock.h"
#include "crypto/master_key.h"
#include "store/layout.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_failed = 3;
constexpr int exit_forbidden = 4;
constexpr auto follow_interval = std::chrono::seconds(1);

int report(const AdminReply& reply) {
    if (reply.status == AdminStatus::ok) {
        if (std::fputs(reply.text.c_str(), stdout) == EOF || std::fflush(stdout) != 0) {
            std::fprintf(stderr, "vaultmx: logs show: cannot write to standard output\n");
            return exit_failed;
        }
        return 0;
    }
    std::fprintf(stderr, "vaultmx: logs show: %s\n", reply.text.c_str());
    if (reply.status == AdminStatus::refused) return exit_refused;
    return reply.status == AdminStatus::forbidden ? exit_forbidden : exit_failed;
}

// The sequence of the last line of a text reply, for --follow.
std::uint64_t last_sequence(const std::string& text, std::uint64_t previous) {
    std::size_t end = text.size();
    while (end > 0 && text[end - 1] == '\n') --end;
    const std::size_t start = text.rfind('\n', end == 0 ? 0 : end - 1);
    const auto fields = parse_log_line(std::string_view(text).substr(start == std::string::npos ? 0 : start + 1,
                                                                       end - (start == std::string::npos ? 0 : start + 1)));
    return fields ? fields->sequence : previous;
}

class OfflineSpool {
public:
    static Result<std::unique_ptr<LogSpool>> open(const Config& config, std::string& problem) {
        const std::string folder = config.log_dir + "/spool";
        struct stat st {};
        if (::stat(folder.c_str(), &st) != 0) {
            problem = "no daemon answers and there is no spool at " + folder;
            return fail_errno(errno);
        }
        auto master = crypto::load_master_key_file(config.master_key_file);
        if (!master) {
            problem = "no daemon answers, and the master key " + config.master_key_file +
                      " cannot be read to open the spool: " + master.error().message();
            return fail(master.error());
        }
        auto derived = LogSpool::derive_key(master->material.view());
        if (!derived) return problem = "cannot derive the log key", fail(derived.error());
        auto layout = store::StoreLayout::open(config.data_dir, config.store);
        if (!layout) return problem = "cannot open the store in " + config.data_dir, fail(layout.error());
        auto key = read_held_key(*layout, *master, log_spool_key_name, std::move(*derived));
        if (!key) return problem = "cannot read the log key from the key store: " + key.error().message(), fail(key.error());
        LogSpoolOptions options;
        options.bytes_max = std::uint64_t{config.limits.log_spool_mib_max} << 20;
        options.retention_days = config.limits.log_retention_days;
        options.shipping = !config.log_ship_to.empty();
        auto spool = LogSpool::open(folder, std::move(*key), options);
        if (!spool) problem = "cannot open the spool " + folder + ": " + spool.error().message();
        return spool;
    }
};

// The offline reading, recorded in the spool itself (the daemon's audit log is its own to write).
void record_offline_reading(LogSpool& spool, const Config& config) {
    LogRecord record;
    record.time_us = wall_us();
    record.level = LogLevel::info;
    const std::string text = fmt::format("event=logs.shown_offline uid={}", getuid());
    record.length = static_cast<std::uint16_t>(std::min(text.size(), LogRecord::text_bytes_max));
    std::copy_n(text.data(), record.length, record.text);
    const LogOrigin origin{config.hostname, "vaultmx", static_cast<std::uint32_t>(getpid())};
    const std::string line = format_log_line(record, spool.next_sequence(), origin);
    (void)spool.append(std::span<const std::string>(&line, 1));
}

}  // namespace

int run_logs_show(const Config& config, AdminRequest& request, int timeout_ms) {
    const bool follow = request.has("follow");
    if (follow && request.json) {
        std::fprintf(stderr, "vaultmx: logs show: --follow prints lines; leave out --json\n");
        return exit_refused;
    }
    std::unique_ptr<LogSpool> offline;
    std::uint64_t after = 0;
    for (;;) {
        AdminReply reply;
        if (!offline) {
            auto answer = admin_call(config.admin_socket, request, timeout_ms);
            if (answer) {
                reply = std::move(*answer);
            } else if (answer.error() == std::errc::no_such_file_or_directory ||
                       answer.error() == std::errc::connection_refused) {
                std::string problem;
                auto spool = OfflineSpool::open(config, problem);
                if (!spool) {
                    std::fprintf(stderr, "vaultmx: logs show: %s\n", problem.c_str());
                    return exit_failed;
                }
                offline = std::move(*spool);
                record_offline_reading(*offline, config);
            } else {
                std::fprintf(stderr, "vaultmx: logs show: cannot reach the daemon at %s: %s\n",
                             config.admin_socket.c_str(), answer.error().message().c_str());
                return exit_failed;
            }
        }
        if (offline) reply = admin::show_log_events(*offline, request);
        if (const int status = report(reply); status != 0 || !follow) return status;
        after = last_sequence(reply.text, after);
        std::erase_if(request.fields, [](const auto& f) { return f.first == "after" || f.first == "since"; });
        if (after > 0) request.fields.emplace_back("after", std::to_string(after));
        std::this_thread::sleep_for(follow_interval);
    }
}

}  // namespace vmx
