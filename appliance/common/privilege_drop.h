// Least privilege for vaultmxd: once its ports, admin socket and files are open, the daemon becomes
// the [service] user and group for good (started as root by hand or by run-dev), or checks that it
// already is (started as that user by systemd, ports passed in by socket activation). Either way it
// then holds no capability (effective, permitted, inheritable, ambient or bounding), sets
// no_new_privs, is not dumpable (no core file can hold a key) and installs the system-call allow-list
// of syscall_filter.h. Main thread, before any other thread of ours starts, so every thread inherits
// all of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "appliance/common/service_account.h"

namespace vmx {

enum class Sandbox : std::uint8_t {
    full,        // no_new_privs, not dumpable, the system-call filter
    sanitized,   // a sanitizer build: its leak checker stops threads with ptrace at exit, which
                 // non-dumpable processes and the filter forbid; everything else still applies
};

// What the process is once the drop succeeded, for the start-up event and the tests.
struct DropReport {
    bool was_root = false;
    bool filter_installed = false;
};

// Changes to the account (when root), drops every capability, then seals the process. An error line
// (the daemon must not serve) or the report.
std::optional<std::string> drop_privileges(const ServiceAccount& account, Sandbox sandbox, DropReport& report);

}  // namespace vmx
