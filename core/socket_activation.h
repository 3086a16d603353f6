// Listening sockets passed in by systemd's socket activation (sd_listen_fds(3), without libsystemd):
// LISTEN_PID names this process, LISTEN_FDS counts descriptors from 3, LISTEN_FDNAMES names them
// (FileDescriptorName= in the .socket unit). So the daemon serves ports below 1024 without ever
// holding a capability. Main thread, at start-up, before any other thread reads the environment.
#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "core/socket_address.h"

namespace vmx {

struct InheritedSocket {
    int fd = -1;
    std::string name;  // "smtp", "submission_tls", ... (unnamed ones: "unknown", as systemd says)
};

// The sockets meant for this process (none when LISTEN_PID is another's or unset). The variables
// are removed, so nothing started later takes them for its own; the descriptors get FD_CLOEXEC.
std::vector<InheritedSocket> take_inherited_sockets();

// A passed socket must be a listening TCP socket bound to the configured address: anything else is
// a unit file that disagrees with the config, said at start-up rather than served wrongly.
Result<void> check_inherited_listener(int fd, const SocketAddress& expected, std::string& bound_to);

}  // namespace vmx
