// What the CLI does itself beside a daemon, as root: ask whether a daemon serves the instance, and
// append a command it ran in-process (backups, an offline master-key rotation) to the store's audit
// chain, as the daemon does for the commands it runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appliance/config/config.h"
#include "crypto/master_key.h"

namespace vmx {

bool daemon_answers(const std::string& socket_path);

std::optional<std::string> record_in_audit(const Config& config, const crypto::MasterKey& master, std::string command,
                                           std::vector<std::string> arguments, const std::string& failure);

}  // namespace vmx
