// vaultmxd's privilege drop (see privilege_drop.h).
#include "appliance/common/privilege_drop.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

#include "appliance/common/syscall_filter.h"

namespace vmx {
namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

struct CapFree {
    void operator()(cap_t caps) const noexcept { cap_free(caps); }
};

// The bounding set first (it needs CAP_SETPCAP, gone after the user change), then the ambient set.
std::optional<std::string> drop_capability_sets() {
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
            return "service: cannot drop capability " + std::to_string(cap) + " from the bounding set: " + errno_text(errno);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return "service: cannot clear the ambient capabilities: " + errno_text(errno);
    return std::nullopt;
}

// Nothing to do when none is held (started by systemd as the service user): the unit's own filter
// then need not allow capset.
std::optional<std::string> clear_process_capabilities() {
    const std::unique_ptr<_cap_struct, CapFree> empty(cap_init());
    const std::unique_ptr<_cap_struct, CapFree> held(cap_get_proc());
    if (!empty || !held) return "service: cannot read the capabilities: " + errno_text(errno);
    if (cap_compare(held.get(), empty.get()) == 0) return std::nullopt;
    if (cap_set_proc(empty.get()) != 0) return "service: cannot clear the capabilities: " + errno_text(errno);
    return std::nullopt;
}

std::optional<std::string> become(const ServiceAccount& account) {
    const gid_t groups[] = {account.gid};
    if (setgroups(1, groups) != 0) return "service: cannot set the supplementary groups: " + errno_text(errno);
    if (setresgid(account.gid, account.gid, account.gid) != 0)
        return "service.group: cannot become " + account.group + ": " + errno_text(errno);
    if (setresuid(account.uid, account.uid, account.uid) != 0)
        return "service.user: cannot become " + account.user + ": " + errno_text(errno);
    // Proof that the way back is closed.
    if (setuid(0) == 0 || seteuid(0) == 0) return "service.user: root could be regained after the drop";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> drop_privileges(const ServiceAccount& account, Sandbox sandbox, DropReport& report) {
    report.was_root = geteuid() == 0;
    if (report.was_root) {
        if (auto failed = drop_capability_sets()) return failed;
        if (auto failed = become(account)) return failed;
    } else if (geteuid() != account.uid) {
        return "service.user: started as uid " + std::to_string(geteuid()) + ", neither root nor " + account.user +
               " (uid " + std::to_string(account.uid) + ")";
    } else {
        // Started as the service user: a bounding set systemd left cannot be dropped without
        // CAP_SETPCAP, and holds nothing once no_new_privs forbids gaining it.
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
            return "service: cannot clear the ambient capabilities: " + errno_text(errno);
    }
    if (auto failed = clear_process_capabilities()) return failed;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "service: cannot set no_new_privs: " + errno_text(errno);
    if (sandbox == Sandbox::sanitized) return std::nullopt;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return "service: cannot make the process non-dumpable: " + errno_text(errno);
    if (auto r = install_syscall_filter(); !r) return "service: cannot install the system-call filter: " + r.error().message();
    report.filter_installed = true;
    return std::nullopt;
}

}  // namespace vmx
