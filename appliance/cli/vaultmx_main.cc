// vaultmx: the admin CLI. `config check`, `init` and `backup` run locally; every other command is parsed and
// checked here, sent to the daemon over the admin socket ([admin] socket), and its answer printed
// (`logs show` also reads the spool itself when no daemon runs: logs_command.h; `user export`
// writes the daemon's stream to a file: export_command.h).
// Exit status: 0 done, 1 refused (fix the request), 2 usage error, 3 the daemon could not do it or
// could not be reached, 4 not permitted to use the admin socket.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "appliance/admin/client.h"
#include "appliance/admin/command_table.h"
#include "appliance/admin/init_command.h"
#include "appliance/cli/admin_command_line.h"
#include "appliance/cli/backup_command.h"
#include "appliance/cli/export_command.h"
#include "appliance/cli/master_rotation_command.h"
#include "appliance/cli/logs_command.h"
#include "appliance/config/config.h"

namespace vmx {
namespace {

constexpr int exit_refused = 1;
constexpr int exit_usage = 2;
constexpr int exit_failed = 3;
constexpr int exit_forbidden = 4;
constexpr int admin_timeout_ms = 60'000;  // password hashing and key work take a moment

constexpr std::size_t password_bytes_max = 1024;
constexpr std::size_t secret_value_bytes_max = 4096;  // as the daemon's appliance secrets

// The command's output on stdout; false when it could not all be written (a full disk behind a
// redirection, a closed pipe): a listing or an export cut short must not end with status 0.
bool print_output(const std::string& text) {
    return std::fputs(text.c_str(), stdout) != EOF && std::fflush(stdout) == 0;
}

int output_failed(const std::string& command) {
    std::fprintf(stderr, "vaultmx: %s: cannot write to standard output\n", command.c_str());
    return exit_failed;
}

// The password (or a secret's value) from stdin: at most bytes_max bytes, one trailing newline
// (LF or CRLF) removed. False (with `problem` set) when there is none or it is too long.
bool read_password(std::string& secret, std::string_view what, std::size_t bytes_max, std::string& problem) {
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return problem = fmt::format("cannot read the {} from stdin", what), false;
        if (n == 0) break;
        secret.append(buf, static_cast<std::size_t>(n));
        if (secret.size() > bytes_max + 2) return problem = fmt::format("{}: longer than {} bytes", what, bytes_max), false;
    }
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty() || secret.size() > bytes_max)
        return problem = fmt::format("{}: none on stdin (or longer than {} bytes)", what, bytes_max), false;
    return true;
}

// The parsed command: its values checked against the table, its password read, sent, answered.
int run_remote(const Config& config, const AdminCommandLine& commands, bool json) {
    const CommandRow& row = *commands.parsed();
    const std::string command(row.name);
    AdminRequest request = commands.request();
    request.json = json;
    if (auto problem = check_values(row, request)) {
        std::fprintf(stderr, "vaultmx: %s: %s\n", command.c_str(), problem->c_str());
        return exit_usage;
    }
    if (row.password != PasswordStdin::none && commands.password_stdin()) {
        std::string problem;
        const bool value = row.password == PasswordStdin::value;
        if (!read_password(request.secret, value ? "value" : "password", value ? secret_value_bytes_max : password_bytes_max,
                           problem)) {
            std::fprintf(stderr, "vaultmx: %s: %s\n", command.c_str(), problem.c_str());
            return exit_usage;
        }
    }
    if (command == "logs show") return run_logs_show(config, request, admin_timeout_ms);
    if (command == "user export") return run_user_export(config, request, admin_timeout_ms);
    if (command == "key rotate" && request.has("master")) return run_master_rotation(config, std::move(request), admin_timeout_ms);
    auto reply = admin_call(config.admin_socket, request, admin_timeout_ms);
    if (!reply) {
        std::fprintf(stderr, "vaultmx: %s: cannot reach the daemon at %s: %s%s\n", command.c_str(),
                     config.admin_socket.c_str(), reply.error().message().c_str(),
                     reply.error() == std::errc::no_such_file_or_directory || reply.error() == std::errc::connection_refused
                         ? " (is vaultmxd running?)"
                         : "");
        return exit_failed;
    }
    if (reply->status == AdminStatus::ok) return print_output(reply->text) ? 0 : output_failed(command);
    std::string text = reply->text;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::fprintf(stderr, "vaultmx: %s: %s\n", command.c_str(), text.c_str());
    switch (reply->status) {
        case AdminStatus::refused: return exit_refused;
        case AdminStatus::forbidden: return exit_forbidden;
        default: return exit_failed;
    }
}

int run(int argc, char** argv) {
    CLI::App app{"vaultmx: administer a vaultmx mail gateway"};
    std::string config_path = "/etc/vaultmx/vaultmx.toml";
    bool json = false;
    app.require_subcommand(1);
    app.fallthrough();  // -c and --json may follow the command words too
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.add_flag("--json", json, "machine-readable output for listings");
    app.set_version_flag("--version", VMX_VERSION);
    app.footer("Exit status: 0 done, 1 refused, 2 usage error, 3 daemon failed or unreachable, 4 not permitted.");

    auto* config_cmd = add_command_group(app, "config", "configuration commands");
    auto* check = config_cmd->add_subcommand("check", "validate the configuration and print the effective values");
    auto* init = app.add_subcommand("init", "create the data folders and the master key (and a TLS certificate) if absent");
    bool self_signed = false;
    init->add_flag("--self-signed", self_signed, "also create a self-signed certificate at [tls] cert/key if absent");
    // Backups run here, as root, with the master key file (backup_command.h).
    auto* backup = add_command_group(app, "backup", "backups of the store: create, verify, restore, list");
    BackupCommand backup_command;
    auto* backup_create = backup->add_subcommand("create", "copy the store into a new backup folder (the daemon may serve)");
    backup_create->add_option("--to", backup_command.dir, "the new or empty folder (default: a new one in [backup] dir)");
    auto* backup_verify = backup->add_subcommand("verify", "check a backup's files against its manifest and open every record");
    backup_verify->add_option("DIR", backup_command.dir, "the backup folder")->required();
    auto* backup_restore = backup->add_subcommand("restore", "rebuild the stopped instance's empty data folder from a backup");
    backup_restore->add_option("DIR", backup_command.dir, "the backup folder")->required();
    auto* backup_list = backup->add_subcommand("list", "the backups in [backup] dir");
    const AdminCommandLine commands(app);  // every other command, from the command table

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "vaultmx: %s (see vaultmx --help)\n", e.what());
        return exit_usage;
    }

    const auto loaded = load_config_or_report("vaultmx", config_path);
    if (!loaded) return exit_usage;
    const Config& config = *loaded;
    if (check->parsed()) return print_output(describe_config(config)) ? 0 : output_failed("config check");
    if (init->parsed()) {
        const auto report = run_init(config, self_signed ? SelfSigned::yes : SelfSigned::no);
        for (const auto& line : report.done) std::printf("%s\n", line.c_str());
        if (!report.error.empty()) {
            std::fprintf(stderr, "vaultmx: init: %s\n", report.error.c_str());
            return exit_refused;
        }
        return 0;
    }
    for (auto* sub : {backup_create, backup_verify, backup_restore, backup_list}) {
        if (!sub->parsed()) continue;
        backup_command.action = sub->get_name();
        backup_command.json = json;
        return run_backup_command(config, backup_command);
    }
    if (commands.parsed() != nullptr) return run_remote(config, commands, json);
    std::fprintf(stderr, "vaultmx: no command given (see vaultmx --help)\n");
    return exit_usage;
}

}  // namespace
}  // namespace vmx

int main(int argc, char** argv) try {
    return vmx::run(argc, argv);
} catch (const std::exception& e) {  // out of memory, or a bug: one line and a failure status, not an abort
    std::fprintf(stderr, "vaultmx: %s\n", e.what());
    return vmx::exit_failed;
}
