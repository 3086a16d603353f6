// The system-call allow-list (see syscall_filter.h).
#include "appliance/common/syscall_filter.h"

#include <linux/sched.h>
#include <seccomp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>

#include <cerrno>
#include <memory>

namespace vmx {
namespace {

// By name, so one list serves every architecture; a name the running kernel's table lacks is skipped.
constexpr const char* kAllowed[] = {
    // files and descriptors
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "lseek", "close", "close_range", "openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx", "fstatfs",
    "statfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64", "mkdir", "mkdirat",
    "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "ftruncate", "fallocate", "fsync", "fdatasync",
    "sync_file_range", "msync", "fcntl", "flock", "dup", "dup2", "dup3", "pipe2", "fchmod", "umask", "getcwd",
    // memory
    "mmap", "munmap", "mremap", "madvise", "mprotect", "brk", "mlock", "munlock", "mlock2", "mincore", "membarrier",
    // threads and scheduling
    "futex", "set_robust_list", "get_robust_list", "rseq", "sched_yield", "sched_getaffinity", "sched_setaffinity",
    "getcpu", "set_tid_address",
    // time
    "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    // signals (to itself only: tgkill for abort and raise)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigpending", "sigaltstack",
    "signalfd4", "tgkill", "restart_syscall",
    // process facts
    "exit", "exit_group", "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "uname", "getrlimit", "prlimit64", "getrusage", "sysinfo", "times", "getrandom",
    // waiting
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll", "select",
    "pselect6", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    // sockets (socket itself is narrowed below)
    "socketpair", "connect", "accept", "accept4", "bind", "listen", "getsockname", "getpeername", "getsockopt",
    "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
    // the engine
    "io_uring_setup", "io_uring_enter", "io_uring_register",
};

// One argument test, spelled out: libseccomp's SCMP_A0 macros build C99 compound literals.
scmp_arg_cmp masked_eq(unsigned arg, scmp_datum_t mask, scmp_datum_t value) {
    return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, value};
}

scmp_arg_cmp equal(unsigned arg, scmp_datum_t value) { return scmp_arg_cmp{arg, SCMP_CMP_EQ, value, 0}; }

struct FilterFree {
    void operator()(void* ctx) const noexcept { seccomp_release(ctx); }
};

Result<void> check(int rc) {
    if (rc < 0) return fail_errno(-rc);
    return {};
}

}  // namespace

Result<void> install_syscall_filter() {
    const std::unique_ptr<void, FilterFree> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
    if (!ctx) return fail_errno(ENOMEM);
    void* f = ctx.get();
    for (const char* name : kAllowed) {
        const int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) continue;
        if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0)); !r) return r;
    }
    // Threads only: a new process (fork, or clone without CLONE_THREAD) is never needed.
    if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                        masked_eq(0, CLONE_THREAD, CLONE_THREAD)));
        !r)
        return r;
    // clone3 passes its flags in memory a filter cannot read: ENOSYS makes glibc use clone.
    if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)); !r) return r;
    for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
        if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                            masked_eq(0, 0xFFFF, static_cast<scmp_datum_t>(family))));
            !r)
            return r;
    }
    for (int option : {PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE}) {
        if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                                            equal(0, static_cast<scmp_datum_t>(option))));
            !r)
            return r;
    }
    // SIOCOUTQ: the log shipper's count of bytes the collector has not acknowledged yet.
    for (unsigned long request : {static_cast<unsigned long>(TCGETS), static_cast<unsigned long>(FIONREAD),
                                  static_cast<unsigned long>(FIONBIO), static_cast<unsigned long>(FIOCLEX),
                                  static_cast<unsigned long>(SIOCOUTQ)}) {
        if (auto r = check(seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                            masked_eq(1, 0xFFFFFFFF, static_cast<scmp_datum_t>(request))));
            !r)
            return r;
    }
    // Every thread at once: a library thread started before now is not left outside.
    if (auto r = check(seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1)); !r) return r;
    return check(seccomp_load(f));
}

}  // namespace vmx
