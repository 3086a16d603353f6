// vaultmxd: the daemon. Reads and validates the config (--check-config prints the effective values),
// then runs the Daemon's start-up steps (exit 2 with one line naming the key when anything is wrong)
// and its control loop until SIGTERM/SIGINT has drained the shards (exit 0).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "appliance/config/config.h"
#include "appliance/daemon/daemon.h"

int main(int argc, char** argv) try {
    CLI::App app{"vaultmxd: the vaultmx mail gateway daemon"};
    std::string config_path;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file (TOML)")->required();
    app.add_flag("--check-config", check_only, "validate the configuration, print the effective values, exit");
    app.set_version_flag("--version", VMX_VERSION);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    const auto loaded = vmx::load_config_or_report("vaultmxd", config_path);
    if (!loaded) return 2;
    if (check_only) {
        if (std::fputs(vmx::describe_config(*loaded).c_str(), stdout) == EOF || std::fflush(stdout) != 0) {
            std::fprintf(stderr, "vaultmxd: cannot write to standard output\n");
            return 1;
        }
        std::fprintf(stderr, "vaultmxd: %s: configuration is valid\n", config_path.c_str());
        return 0;
    }
    vmx::Daemon daemon(*loaded);
    if (auto failed = daemon.start()) {
        std::fprintf(stderr, "vaultmxd: %s\n", failed->line.c_str());
        return failed->exit_code;
    }
    return daemon.run();
} catch (const std::exception& e) {  // out of memory, or a bug: one line and a failure status, not an abort
    std::fprintf(stderr, "vaultmxd: %s\n", e.what());
    return 1;
}
