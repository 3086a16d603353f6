// `vaultmx key rotate --master --new-key-file PATH`, as root. The CLI reads the new key file (the
// same rules as the master key file: 64 hex digits or 32 bytes, owner-only), sends the key to the
// daemon as the request's secret (never a field: no log, audit entry or reply holds it), and the
// daemon rewraps every scope key, held key and appliance secret under it in one transaction
// (KeyService::rotate_master). Then the CLI installs the new key as [keys] master_key_file
// (written beside it, synced, renamed over it): from then on only the new key opens the store.
// Resumable: with no daemon running it rotates the store itself, and a store already under the new
// key (a run stopped before the install) only gets the file installed.
#pragma once

#include "appliance/admin/protocol.h"
#include "appliance/config/config.h"

namespace vmx {

// Exit status as the CLI's: 0 done, 1 refused, 2 usage, 3 failed.
int run_master_rotation(const Config& config, AdminRequest request, int timeout_ms);

}  // namespace vmx
