// vaultmx: the admin CLI. It speaks to the daemon over the admin socket; commands that need no
// daemon (checking a config) run locally.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <variant>

#include "appliance/config.h"
#include "appliance/init_command.h"

int main(int argc, char** argv) {
    CLI::App app{"vaultmx: administer a vaultmx mail gateway"};
    app.require_subcommand(1);
    std::string config_path = "/etc/vaultmx/vaultmx.toml";
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.set_version_flag("--version", VMX_VERSION);

    auto* config_cmd = app.add_subcommand("config", "configuration commands");
    config_cmd->require_subcommand(1);
    auto* check = config_cmd->add_subcommand("check", "validate the configuration and print the effective values");

    auto* init = app.add_subcommand("init", "create the data folders and the master key (and a TLS certificate) if absent");
    bool self_signed = false;
    init->add_flag("--self-signed", self_signed, "also create a self-signed certificate at [tls] cert/key if absent");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    const auto loaded = vmx::load_config_or_report("vaultmx", config_path);
    if (!loaded) return 2;
    const vmx::Config& config = *loaded;
    if (check->parsed()) {
        std::fputs(vmx::describe_config(config).c_str(), stdout);
        return 0;
    }
    if (init->parsed()) {
        const auto report = vmx::run_init(config, self_signed ? vmx::SelfSigned::yes : vmx::SelfSigned::no);
        for (const auto& line : report.done) std::printf("%s\n", line.c_str());
        if (!report.error.empty()) {
            std::fprintf(stderr, "vaultmx: init: %s\n", report.error.c_str());
            return 1;
        }
        return 0;
    }
    return 2;
}
