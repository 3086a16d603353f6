// The system-call allow-list of vaultmxd and vaultmx-portal (seccomp, through libseccomp). Whatever a mail server that has
// already bound its ports and opened its files needs: file and socket I/O, io_uring, memory,
// threads, time, signals to itself. Anything else kills the whole process at once (SIGSYS), so an
// exploited bug cannot run a program, trace or signal another process, mount, load a module, change
// its identity or open raw or netlink sockets. Narrowed by argument where it matters:
// clone only for threads (clone3 answers ENOSYS, so threads fall back to clone), socket only for
// IPv4, IPv6 and Unix, prctl only for thread names, ioctl only for the few terminal and socket
// requests the libraries make.
#pragma once

#include "core/result.h"

namespace vmx {

// Loads the filter on the calling thread (and, synchronised, on every other thread of the process);
// threads started later inherit it. Requires no_new_privs (or CAP_SYS_ADMIN).
Result<void> install_syscall_filter();

}  // namespace vmx
