// vaultmxd's least-privilege steps (see daemon.h and privilege_drop.h): the service account, the
// store's folders handed to it, the sockets the service manager passed in, the drop itself, and the
// threads, which all start after it.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "appliance/daemon/daemon.h"

#include <filesystem>
#include "core/log.h"
#include "core/socket_activation.h"

namespace vmx {

// The account to serve as: known before anything opens, so a wrong name costs nothing.
std::optional<StartFailure> Daemon::open_account() {
    std::string error_line;
    auto account = resolve_service_account(config_.service_user, config_.service_group, error_line);
    if (!account) return config_failure(error_line);
    account_ = std::move(*account);
    return std::nullopt;
}

// The store's folders belong to the service user (an instance made by root before it had one is
// handed over here). Only folders that hold a store layout: a mistyped [paths] data never
// hands over a system folder.
std::optional<StartFailure> Daemon::own_store_folders() {
    std::vector<std::string> folders{config_.data_dir};
    for (store::SegmentKind kind : store::segment_kinds) {
        const std::string root = layout_->root(kind);
        if (!root.starts_with(config_.data_dir + "/")) folders.push_back(root);
    }
    for (const std::string& folder : folders)
        if (auto failed = own_tree(folder, *account_)) return config_failure("service.user: " + *failed);
    // The scheduled backups' folder: made here (0700) and handed over, since the schedule writes it.
    if (config_.limits.backup_interval_h > 0) {
        std::error_code ec;
        std::filesystem::create_directories(config_.backup_dir, ec);
        if (ec) return config_failure("backup.dir: cannot create " + config_.backup_dir + ": " + ec.message());
        std::filesystem::permissions(config_.backup_dir, std::filesystem::perms::owner_all, ec);
        if (auto failed = own_tree(config_.backup_dir, *account_)) return config_failure("backup.dir: " + *failed);
    }
    return std::nullopt;
}

// Ports, files and the admin socket are open: from here on the daemon is its own user, with no
// capability, no_new_privs, no core file and the system-call filter; no thread of ours exists yet,
// so every one starts inside all of that.
std::optional<StartFailure> Daemon::drop_privileges() {
    // The socket keeps its group (vaultmx-admin may use it); its owner becomes the service user.
    if (geteuid() == 0) (void)!::chown(config_.admin_socket.c_str(), account_->uid, static_cast<gid_t>(-1));
    if (geteuid() == 0) (void)!::chown(config_.portal_socket.c_str(), account_->uid, static_cast<gid_t>(-1));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    constexpr Sandbox sandbox = Sandbox::sanitized;
#else
    constexpr Sandbox sandbox = Sandbox::full;
#endif
    DropReport report;
    if (auto failed = vmx::drop_privileges(*account_, sandbox, report)) return runtime_failure(*failed);
    log_event(LogLevel::info, "service.privileges_dropped", "user={} uid={} gid={} from_root={} syscall_filter={}",
              account_->user, account_->uid, account_->gid, report.was_root ? "yes" : "no",
              report.filter_installed ? "on" : "off (sanitizer build)");
    return std::nullopt;
}

// The worker threads and then the shards, all after the drop.
std::optional<StartFailure> Daemon::start_threads() {
    if (auto r = auth_workers_->start(); !r) return runtime_failure("auth: cannot start the password workers: " + r.error().message());
    if (auto r = mailauth_workers_->start(); !r)
        return runtime_failure("mailauth: cannot start the workers: " + r.error().message());
    if (maildrop_leases_) maildrop_leases_->start();
    if (store_readers_) store_readers_->start();
    if (auto r = engine_->start(); !r) return runtime_failure("engine: cannot start: " + r.error().message());
    if (shipper_) shipper_->start();
    return std::nullopt;
}

// Sockets systemd bound for us (vaultmx.socket): each belongs to the [listen] key it is named
// after (FileDescriptorName=), or else to the one whose address it is bound to. Listeners without
// one are bound here as usual.
std::optional<StartFailure> Daemon::adopt_passed_sockets() {
    for (const InheritedSocket& passed : take_inherited_sockets()) {
        const auto& listeners = config_.listeners;
        auto it = std::find_if(listeners.begin(), listeners.end(),
                               [&](const ListenerConfig& l) { return l.name == passed.name; });
        if (it == listeners.end()) {
            SocketAddress local;
            local.length = sizeof local.storage;
            if (::getsockname(passed.fd, reinterpret_cast<sockaddr*>(&local.storage), &local.length) == 0)
                it = std::find_if(listeners.begin(), listeners.end(), [&](const ListenerConfig& l) {
                    return l.address.to_string() == local.to_string();
                });
        }
        if (it == listeners.end()) {
            ::close(passed.fd);
            return config_failure("listen: the service manager passed a socket (\"" + passed.name +
                                  "\") that is no [listen] key's, by name or by address");
        }
        std::string bound_to;
        if (auto r = check_inherited_listener(passed.fd, it->address, bound_to); !r) {
            ::close(passed.fd);
            return config_failure("listen." + it->name + ": the socket the service manager passed is " +
                                  (bound_to.empty() ? r.error().message() : "bound to " + bound_to) + ", not " +
                                  it->address_text);
        }
        engine_->adopt(static_cast<std::size_t>(it - listeners.begin()), passed.fd);
        log_event(LogLevel::info, "listen.passed", "listener={} address={}", it->name, it->address_text);
    }
    return std::nullopt;
}

}  // namespace vmx
