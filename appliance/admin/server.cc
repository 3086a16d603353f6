// The admin socket server (see admin_server.h).
#include "appliance/admin/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/log.h"

namespace vmx {
namespace {

bool read_all(int fd, std::uint8_t* out, std::size_t n) {
    while (n > 0) {
        const ssize_t got = ::read(fd, out, n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return false;
        out += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t n) {
    while (n > 0) {
        const ssize_t put = ::send(fd, data, n, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) return false;
        data += put;
        n -= static_cast<std::size_t>(put);
    }
    return true;
}

void set_timeouts(int fd, int timeout_ms) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Supplementary groups of the peer's user, as the group database says.
bool user_in_group(uid_t uid, gid_t primary, gid_t group) {
    std::array<char, 4096> buffer{};
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return false;
    std::vector<gid_t> groups(64);
    int count = static_cast<int>(groups.size());
    if (getgrouplist(pw.pw_name, primary, groups.data(), &count) < 0) {
        if (count <= 0 || count > 65536) return false;
        groups.resize(static_cast<std::size_t>(count));
        if (getgrouplist(pw.pw_name, primary, groups.data(), &count) < 0) return false;
    }
    for (int i = 0; i < count; ++i)
        if (groups[static_cast<std::size_t>(i)] == group) return true;
    return false;
}

std::uint64_t monotonic_now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1'000'000;
}

}  // namespace

bool admin_peer_permitted(const AdminPeer& peer, const AdminAccess& access) {
    if (peer.uid == 0 || peer.uid == access.daemon_uid) return true;
    if (!access.admin_gid) return false;
    return peer.gid == *access.admin_gid || user_in_group(peer.uid, peer.gid, *access.admin_gid);
}

std::optional<gid_t> lookup_admin_group() {
    std::array<char, 4096> buffer{};
    group gr{};
    group* found = nullptr;
    if (getgrnam_r(admin_group_name, &gr, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return gr.gr_gid;
}

Result<std::unique_ptr<AdminServer>> AdminServer::open(const std::string& path, AdminHandler handler, int io_timeout_ms) {
    sockaddr_un addr{};
    if (path.empty() || path.size() >= sizeof addr.sun_path) return fail(std::make_error_code(std::errc::filename_too_long));
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return fail(std::make_error_code(std::errc::file_exists));
        ::unlink(path.c_str());  // a stale socket from an earlier run (the pid lock is the listeners)
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return fail(std::error_code(errno, std::generic_category()));
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // Created with no access for others from the first instant; opened up to 0660 below.
    const mode_t old_mask = ::umask(0117);
    const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::umask(old_mask);
    if (bound != 0 || ::listen(fd, 16) != 0) {
        const int saved = errno;
        ::close(fd);
        return fail(std::error_code(saved, std::generic_category()));
    }
    AdminAccess access{::geteuid(), lookup_admin_group()};
    if (access.admin_gid) (void)!::chown(path.c_str(), static_cast<uid_t>(-1), *access.admin_gid);
    ::chmod(path.c_str(), 0660);
    return std::unique_ptr<AdminServer>(new AdminServer(fd, path, std::move(handler), io_timeout_ms, access));
}

AdminServer::~AdminServer() {
    *self_ = nullptr;
    for (auto& [id, p] : pending_) ::close(p.fd);
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(path_.c_str());
}

void AdminServer::complete(std::uint64_t id, const AdminReply& reply) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const auto frame = encode_reply(reply);
    write_all(it->second.fd, frame.data(), frame.size());
    ::close(it->second.fd);
    pending_.erase(it);
}

void AdminServer::expire(std::uint64_t now_ms, std::uint64_t reply_timeout_ms) {
    std::vector<std::uint64_t> overdue;
    for (const auto& [id, p] : pending_)
        if (now_ms - p.since_ms > reply_timeout_ms) overdue.push_back(id);
    for (std::uint64_t id : overdue) complete(id, {AdminStatus::failed, "the daemon did not finish in time; see its log"});
}

void AdminServer::on_readable() {
    for (;;) {
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) return;  // EAGAIN: served every waiting peer
        serve(client);  // closes the connection, now or when its reply comes
    }
}

void AdminServer::serve(int client) {
    set_timeouts(client, io_timeout_ms_);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return (void)::close(client);
    const AdminPeer peer{cred.pid, cred.uid, cred.gid};
    if (!admin_peer_permitted(peer, access_)) {
        log_event(LogLevel::warn, "admin.forbidden", "uid={} pid={}", peer.uid, peer.pid);
        const auto frame = encode_reply({AdminStatus::forbidden, "permission denied: the admin socket is for root, "
                                                                 "the daemon's user and the vaultmx-admin group"});
        write_all(client, frame.data(), frame.size());
        // Read (and drop) what the peer sent, bounded: closing with unread bytes would reset the
        // connection and the peer would never see the reply.
        ::shutdown(client, SHUT_WR);
        std::array<std::uint8_t, 4096> sink{};
        for (std::size_t drained = 0; drained <= admin_request_bytes_max + 4;) {
            const ssize_t n = ::read(client, sink.data(), sink.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            drained += static_cast<std::size_t>(n);
        }
        ::close(client);
        return;
    }
    std::array<std::uint8_t, 4> prefix{};
    if (!read_all(client, prefix.data(), prefix.size())) return (void)::close(client);
    const std::uint32_t n = frame_length(prefix);
    std::vector<std::uint8_t> payload;
    std::optional<AdminRequest> request;
    if (n <= admin_request_bytes_max) {
        payload.resize(n);
        if (!read_all(client, payload.data(), n)) return (void)::close(client);
        request = decode_request(payload);
        explicit_bzero(payload.data(), payload.size());  // it held the secret
    }
    const std::uint64_t id = next_id_++;
    pending_[id] = Pending{client, monotonic_now_ms()};
    if (!request) {
        log_event(LogLevel::warn, "admin.bad_request", "uid={} bytes={}", peer.uid, n);
        return complete(id, {AdminStatus::refused, "malformed request (is the vaultmx CLI the same version as the daemon?)"});
    }
    std::weak_ptr<AdminServer*> server = self_;
    handler_(*request, peer, [server, id](AdminReply reply) {
        if (auto s = server.lock(); s && *s) (*s)->complete(id, reply);
    });
}

}  // namespace vmx
