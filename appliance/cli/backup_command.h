// `vaultmx backup create [--to DIR] | verify DIR | restore DIR | list`: run by the CLI itself, as
// root, with the master key file (appliance/lifecycle/backup.h). create reads the store beside a
// serving daemon; restore needs the daemon stopped and an empty data folder, and hands the folders
// to the service user as init does. A progress line on stderr when it is a terminal. create, verify
// (of a backup on a machine with a store) and restore are appended to the store's audit chain, as
// the daemon does for its commands; one that cannot be recorded fails.
#pragma once

#include <string>

#include "appliance/config/config.h"

namespace vmx {

struct BackupCommand {
    std::string action;  // "create", "verify", "restore", "list"
    std::string dir;     // create: --to (empty: a new folder in [backup] dir); verify, restore: DIR
    bool json = false;   // list
};

// Exit status as the CLI's: 0 done, 1 refused, 3 failed.
int run_backup_command(const Config& config, const BackupCommand& command);

}  // namespace vmx
