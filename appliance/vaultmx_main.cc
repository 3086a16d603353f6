// vaultmx: the admin CLI. It speaks to the daemon over the admin socket; commands that need no
// daemon (checking a config) run locally.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <variant>

#include "appliance/config.h"

int main(int argc, char** argv) {
    CLI::App app{"vaultmx: administer a vaultmx mail gateway"};
    app.require_subcommand(1);
    std::string config_path = "/etc/vaultmx/vaultmx.toml";
    app.add_option("-c,--config", config_path, "configuration file (TOML)");
    app.set_version_flag("--version", VMX_VERSION);

    auto* config_cmd = app.add_subcommand("config", "configuration commands");
    config_cmd->require_subcommand(1);
    auto* check = config_cmd->add_subcommand("check", "validate the configuration and print the effective values");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    if (check->parsed()) {
        auto loaded = vmx::load_config_file(config_path);
        if (auto* error = std::get_if<vmx::ConfigError>(&loaded)) {
            std::fprintf(stderr, "vaultmx: %s\n", error->message.c_str());
            return 2;
        }
        std::fputs(vmx::describe_config(std::get<vmx::Config>(loaded)).c_str(), stdout);
        return 0;
    }
    return 2;
}
