// The admin socket server (see server.h).
#include "appliance/admin/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/clock.h"
#include "core/socket_io.h"
#include "core/log.h"

namespace vmx {
namespace {

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


// Bytes of the frame still to come: the prefix first, then its payload; 0 when whole, or when the
// prefix announces more than a request may hold (refused without reading it).
std::size_t missing_bytes(const std::vector<std::uint8_t>& in) {
    if (in.size() < 4) return 4 - in.size();
    const std::size_t payload = frame_length(std::span<const std::uint8_t, 4>(in.data(), 4));
    if (payload > admin_request_bytes_max) return 0;
    return 4 + payload - in.size();
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

Result<std::unique_ptr<AdminServer>> AdminServer::open(const std::string& path, AdminHandler handler,
                                                     AdminServerOptions options) {
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
    const int epoll_fd = bound == 0 && ::listen(fd, 16) == 0 ? ::epoll_create1(EPOLL_CLOEXEC) : -1;
    if (epoll_fd < 0) {
        const int saved = errno;
        ::close(fd);
        return fail(std::error_code(saved, std::generic_category()));
    }
    AdminAccess access{::geteuid(), lookup_admin_group()};
    const std::optional<gid_t> group = options.permitted ? options.group : access.admin_gid;
    if (group) (void)!::chown(path.c_str(), static_cast<uid_t>(-1), *group);
    ::chmod(path.c_str(), 0660);
    std::unique_ptr<AdminServer> server(new AdminServer(fd, epoll_fd, path, std::move(handler), std::move(options), access));
    server->watch(0, fd, EPOLLIN, true);
    return server;
}

AdminServer::~AdminServer() {
    *self_ = nullptr;
    for (auto& [id, c] : conns_) ::close(c.fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(path_.c_str());
}

std::size_t AdminServer::waiting() const {
    return static_cast<std::size_t>(
        std::count_if(conns_.begin(), conns_.end(), [](const auto& e) { return e.second.phase == Phase::waiting; }));
}

void AdminServer::watch(std::uint64_t id, int fd, std::uint32_t events, bool first) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, first ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

void AdminServer::close_conn(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (!it->second.in.empty()) explicit_bzero(it->second.in.data(), it->second.in.size());  // a partial request
    ::close(it->second.fd);  // also leaves the epoll set
    conns_.erase(it);
}

void AdminServer::on_readable() {
    std::array<epoll_event, 32> events{};
    for (;;) {
        const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            if (events[static_cast<std::size_t>(i)].data.u64 == 0) accept_all();
            else on_event(events[static_cast<std::size_t>(i)].data.u64, events[static_cast<std::size_t>(i)].events);
        }
        if (n < static_cast<int>(events.size())) return;
    }
}

void AdminServer::accept_all() {
    for (;;) {
        const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) return;  // EAGAIN: every waiting peer is in
        if (conns_.size() >= options_.connections_max) {
            log_event(LogLevel::warn, "admin.too_many_connections", "max={}", options_.connections_max);
            ::close(client);
            continue;
        }
        admit(client);
    }
}

// The peer is known before a byte is read: a forbidden one gets its refusal and is drained.
void AdminServer::admit(int client) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return (void)::close(client);
    const AdminPeer peer{cred.pid, cred.uid, cred.gid};
    const std::uint64_t id = next_id_++;
    Conn& c = conns_[id];
    c.fd = client;
    c.peer = peer;
    c.since_ms = monotonic_ms();
    watch(id, client, EPOLLIN, true);
    if (options_.permitted ? options_.permitted(peer) : admin_peer_permitted(peer, access_)) return;
    log_event(LogLevel::warn, "admin.forbidden", "uid={} pid={} socket={}", peer.uid, peer.pid, path_);
    c.drain_after_reply = true;
    reply(id, {AdminStatus::forbidden, options_.permitted ? options_.refusal
                                                          : "permission denied: the admin socket is for root, "
                                                            "the daemon's user and the vaultmx-admin group"});
}

void AdminServer::on_event(std::uint64_t id, std::uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    switch (c.phase) {
        case Phase::reading: return read_request(id, c);
        case Phase::writing: return write_reply(id, c);
        case Phase::draining: return drain(id, c);
        case Phase::waiting:
            // Nothing is read while the handler works (a peer may half-close after its request); a
            // peer that is gone altogether is closed at once (its responder then finds nothing).
            if (events & (EPOLLHUP | EPOLLERR)) close_conn(id);
            return;
    }
}

// Reads what has arrived; once the length prefix and the whole payload are in, dispatches.
void AdminServer::read_request(std::uint64_t id, Conn& c) {
    std::array<std::uint8_t, 4096> buf{};
    for (;;) {
        const std::size_t want = missing_bytes(c.in);
        if (want == 0) return dispatch(id, c);
        const ssize_t n = ::read(c.fd, buf.data(), std::min(want, buf.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n <= 0) return close_conn(id);  // the peer left before its request was whole
        c.in.insert(c.in.end(), buf.data(), buf.data() + n);
        explicit_bzero(buf.data(), static_cast<std::size_t>(n));
    }
}

void AdminServer::dispatch(std::uint64_t id, Conn& c) {
    const std::uint32_t n = frame_length(std::span<const std::uint8_t, 4>(c.in.data(), 4));
    std::optional<AdminRequest> request;
    if (n <= admin_request_bytes_max) request = decode_request(std::span<const std::uint8_t>(c.in).subspan(4));
    explicit_bzero(c.in.data(), c.in.size());  // it held the secret
    c.in = {};
    c.phase = Phase::waiting;
    c.since_ms = monotonic_ms();
    watch(id, c.fd, 0, false);  // hang-ups and errors only
    if (!request) {
        log_event(LogLevel::warn, "admin.bad_request", "uid={} bytes={}", c.peer.uid, n);
        c.drain_after_reply = n > admin_request_bytes_max;  // the rest of it may still be coming
        return reply(id, {AdminStatus::refused, "malformed request (is the vaultmx CLI the same version as the daemon?)"});
    }
    std::weak_ptr<AdminServer*> server = self_;
    const AdminPeer peer = c.peer;  // a reply given at once closes the connection, and `c` with it
    handler_(*request, peer, [server, id](const AdminReply& r) {
        if (auto s = server.lock(); s && *s) (*s)->reply(id, r);
    });
}

// Queues the reply frame and writes what the socket takes now; the rest as it drains. A streamed
// answer asks its producer for the first part instead.
void AdminServer::reply(std::uint64_t id, const AdminReply& r) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;  // the peer left, or the reply came after its timeout
    Conn& c = it->second;
    if (r.stream && r.status == AdminStatus::ok) {
        c.stream = r.stream;
        return pull(id, c);
    }
    c.stream.reset();  // a stream cut short (overdue): its producer goes, this frame ends it
    send_frame(id, c, encode_reply(r));
}

void AdminServer::send_frame(std::uint64_t id, Conn& c, std::vector<std::uint8_t> frame) {
    c.out = std::move(frame);
    c.sent = 0;
    c.phase = Phase::writing;
    c.since_ms = monotonic_ms();
    write_reply(id, c);
}

// Asks the stream for its next piece; the connection waits (hang-ups only) until it comes.
void AdminServer::pull(std::uint64_t id, Conn& c) {
    c.out = {};
    c.phase = Phase::waiting;
    c.since_ms = monotonic_ms();
    watch(id, c.fd, 0, false);
    const std::shared_ptr<AdminStream> stream = c.stream;  // next() may end the connection itself
    std::weak_ptr<AdminServer*> server = self_;
    stream->next([server, id](AdminPiece piece) {
        if (auto s = server.lock(); s && *s) (*s)->on_piece(id, std::move(piece));
    });
}

void AdminServer::on_piece(std::uint64_t id, AdminPiece piece) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    if (c.phase != Phase::waiting || !c.stream) return;  // answered meanwhile (overdue)
    if (piece.end) {
        c.stream.reset();
        return send_frame(id, c, encode_reply(*piece.end));
    }
    send_frame(id, c, encode_reply({AdminStatus::part, std::move(piece.bytes)}));
}

void AdminServer::write_reply(std::uint64_t id, Conn& c) {
    const std::string_view frame(reinterpret_cast<const char*>(c.out.data()), c.out.size());
    const std::size_t before = c.sent;
    const IoStep step = send_pending(c.fd, frame, c.sent);
    if (step == IoStep::again) {
        if (c.stream && c.sent != before) c.since_ms = monotonic_ms();  // a stream's peer that reads is not stuck
        return watch(id, c.fd, EPOLLOUT, false);
    }
    if (step == IoStep::closed) return close_conn(id);
    if (c.stream) return pull(id, c);
    if (!c.drain_after_reply) return close_conn(id);
    // A refused peer may still be sending: read (and drop) it, bounded, before closing, or the
    // close would reset the connection and the peer would never see the reply.
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Phase::draining;
    c.since_ms = monotonic_ms();
    watch(id, c.fd, EPOLLIN, false);
    drain(id, c);
}

void AdminServer::drain(std::uint64_t id, Conn& c) {
    if (drop_input(c.fd, c.drained, admin_request_bytes_max + 4) == IoStep::closed) close_conn(id);
}

void AdminServer::expire(std::uint64_t now_ms) {
    std::vector<std::uint64_t> late, overdue;
    for (const auto& [id, c] : conns_) {
        const std::uint64_t age = now_ms - c.since_ms;
        if (c.phase == Phase::waiting && age > options_.reply_timeout_ms) overdue.push_back(id);
        else if (c.phase != Phase::waiting && age > options_.io_timeout_ms) late.push_back(id);
    }
    for (std::uint64_t id : late) close_conn(id);
    for (std::uint64_t id : overdue) reply(id, {AdminStatus::failed, "the daemon did not finish in time; see its log"});
}

}  // namespace vmx
