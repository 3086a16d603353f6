// The admin socket: a Unix stream socket (mode 0660, group `vaultmx-admin` when that group exists)
// served by the control thread. Each connection carries one request and one reply. The peer is
// identified with SO_PEERCRED before a byte is read: root, the daemon's own user, and members of
// `vaultmx-admin` may use it; anyone else gets `forbidden` and is logged.
// Threads: control thread only. A peer has io_timeout_ms for its request, so a stuck client holds
// the control thread at most that long (admin commands are rare, and only permitted users connect).
// A command that needs a shard (a mailbox change on its owner shard) answers later: the handler
// keeps the responder and calls it when the shard reports; until then the connection stays open,
// and after reply_timeout_ms the peer is told the daemon did not answer.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <optional>
#include <string>

#include "appliance/admin/protocol.h"
#include "core/result.h"

namespace vmx {

inline constexpr char admin_group_name[] = "vaultmx-admin";

struct AdminPeer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

struct AdminAccess {
    uid_t daemon_uid = 0;
    std::optional<gid_t> admin_gid;  // the vaultmx-admin group, when it exists
};

// True for root, the daemon's user, and a member (primary or supplementary) of the admin group.
bool admin_peer_permitted(const AdminPeer& peer, const AdminAccess& access);
// The admin group's gid, if the group exists.
std::optional<gid_t> lookup_admin_group();

// Sends the reply and closes the connection; call it once, now or later (control thread).
using AdminResponder = std::function<void(AdminReply)>;
using AdminHandler = std::function<void(const AdminRequest&, const AdminPeer&, AdminResponder)>;

class AdminServer {
public:
    // Binds the socket (replacing a stale socket file, never another kind of file), 0660.
    static Result<std::unique_ptr<AdminServer>> open(const std::string& path, AdminHandler handler,
                                                     int io_timeout_ms = 2000);
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;
    ~AdminServer();  // closes and removes the socket file

    int fd() const noexcept { return fd_; }
    // Accepts and serves every waiting connection (the control loop calls it when fd() is readable).
    void on_readable();
    // Answers requests whose reply is overdue (the control loop calls it on its tick).
    void expire(std::uint64_t now_ms, std::uint64_t reply_timeout_ms = 30'000);
    std::size_t waiting() const noexcept { return pending_.size(); }

private:
    AdminServer(int fd, std::string path, AdminHandler handler, int io_timeout_ms, AdminAccess access)
        : fd_(fd), path_(std::move(path)), handler_(std::move(handler)), io_timeout_ms_(io_timeout_ms),
          access_(access) {}
    void serve(int client);
    void complete(std::uint64_t id, const AdminReply& reply);

    struct Pending {
        int fd = -1;
        std::uint64_t since_ms = 0;
    };
    int fd_ = -1;
    std::string path_;
    AdminHandler handler_;
    int io_timeout_ms_;
    AdminAccess access_;
    std::unordered_map<std::uint64_t, Pending> pending_;  // connections waiting for their reply
    std::uint64_t next_id_ = 1;
    // Shared with responders, so one that fires after the server is gone does nothing.
    std::shared_ptr<AdminServer*> self_ = std::make_shared<AdminServer*>(this);
};

}  // namespace vmx
