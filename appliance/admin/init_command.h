// `vaultmx init`: prepares an instance from its config without a running daemon: the data, log
// and run folders (owner-only where they hold secrets or mail), the master key if absent, and with
// --self-signed a TLS certificate for the configured paths if absent. Never overwrites a key. Run by
// root, it hands the store's folders (and the log and socket folders it made) to [service] user.
#pragma once

#include <string>
#include <vector>

#include "appliance/config/config.h"

namespace vmx {

enum class SelfSigned : std::uint8_t { no, yes };

struct InitReport {
    std::vector<std::string> done;   // one line per step, for the admin
    std::string error;               // empty on success; one line naming what failed
    std::vector<std::string> made_folders;  // folders this run created (handed to the service user)
};

InitReport run_init(const Config& config, SelfSigned self_signed);

}  // namespace vmx
