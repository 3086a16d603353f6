// `vaultmx logs show`: through the daemon when it runs (decrypted there, audited there); when no
// daemon answers on the admin socket, straight from the spool with the master key file (root
// only), the reading itself recorded as a `logs.shown_offline` event in the spool, which the
// daemon ships when it runs again. `--follow` asks again every second for events after the last
// one shown.
#pragma once

#include "appliance/admin/protocol.h"
#include "appliance/config/config.h"

namespace vmx {

// Exit status as the CLI's: 0 done, 1 refused, 3 failed or unreachable, 4 not permitted.
int run_logs_show(const Config& config, AdminRequest& request, int timeout_ms);

}  // namespace vmx
