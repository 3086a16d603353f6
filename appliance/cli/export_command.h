// `vaultmx user export ADDRESS --out FILE [--trash] [--force]`: the daemon streams the mailbox as
// mboxrd over the admin socket (admin_stream) and this writes it to FILE.part (created 0600, never
// through a link), then syncs it and renames it to FILE, so a failed export never leaves a partial
// FILE. An existing FILE is refused unless --force. Progress on stderr when stderr is a terminal.
// The CLI's one thread.
#pragma once

#include "appliance/admin/protocol.h"
#include "appliance/config/config.h"

namespace vmx {

// Exit status as the CLI's: 0 done, 1 refused, 3 failed or unreachable, 4 not permitted.
int run_user_export(const Config& config, const AdminRequest& request, int timeout_ms);

}  // namespace vmx
