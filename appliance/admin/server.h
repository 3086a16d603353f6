// The admin socket: a Unix stream socket (mode 0660, group `vaultmx-admin` when that group exists)
// served by the control thread. Each connection carries one request and one reply. The peer is
// identified with SO_PEERCRED before a byte is read: root, the daemon's own user, and members of
// `vaultmx-admin` may use it; anyone else gets `forbidden` and is logged.
// Threads: control thread only, and it never blocks on a peer: every socket is non-blocking and
// registered in the server's own epoll set, whose descriptor (fd()) the control loop watches, so a
// slow or stuck client costs nothing but its slot. A peer has io_timeout_ms to send its request and
// to take its reply; at most connections_max peers are served at once (more are closed at accept).
// A command that needs a shard (a mailbox change on its owner shard) answers later: the handler
// keeps the responder and calls it when the shard reports; until then the connection stays open,
// and after reply_timeout_ms the peer is told the daemon did not answer.
// A streamed answer (an AdminReply with a stream) is sent a part at a time: the next part is asked
// for only when the one before is written, so a slow peer holds back the producer and a connection
// holds at most one part; each part has reply_timeout_ms to come and io_timeout_ms without progress
// to be taken.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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

// A piece of a streamed answer: `bytes` goes out as a part frame; `end` set, it is the last frame.
struct AdminPiece {
    std::string bytes;
    std::optional<AdminReply> end;
};

// The producer of a streamed answer. next() hands exactly one piece to `give`, now or later
// (control thread); it is not called again before that. Dropped when the connection closes.
class AdminStream {
public:
    AdminStream() = default;
    AdminStream(const AdminStream&) = delete;
    AdminStream& operator=(const AdminStream&) = delete;
    virtual ~AdminStream() = default;
    virtual void next(std::function<void(AdminPiece)> give) = 0;
};

// Sends the reply and closes the connection; call it once, now or later (control thread).
using AdminResponder = std::function<void(AdminReply)>;
using AdminHandler = std::function<void(const AdminRequest&, const AdminPeer&, AdminResponder)>;

struct AdminServerOptions {
    std::uint64_t io_timeout_ms = 2000;       // to send the request, and to take the reply
    std::uint64_t reply_timeout_ms = 30'000;  // for a command that waits on a shard
    std::size_t connections_max = 64;         // peers served at once
    // Another socket on the same server code (the portal's user-scoped one): who may use it, the
    // socket file's group, and the refusal's text. Empty `permitted`: the admin rule above.
    std::function<bool(const AdminPeer&)> permitted{};
    std::optional<gid_t> group{};
    std::string refusal{};
};

class AdminServer {
public:
    // Binds the socket (replacing a stale socket file, never another kind of file), 0660.
    static Result<std::unique_ptr<AdminServer>> open(const std::string& path, AdminHandler handler,
                                                     AdminServerOptions options = {});
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;
    ~AdminServer();  // closes and removes the socket file

    // The epoll set's descriptor: readable when the listener or a peer is ready.
    int fd() const noexcept { return epoll_fd_; }
    // Serves whatever is ready, without blocking (the control loop calls it when fd() is readable).
    void on_readable();
    // Closes peers past their time and answers requests whose reply is overdue (on the loop's tick).
    void expire(std::uint64_t now_ms);
    std::size_t connections() const noexcept { return conns_.size(); }
    std::size_t waiting() const;  // requests handed to the handler and not yet answered

private:
    enum class Phase : std::uint8_t { reading, waiting, writing, draining };
    struct Conn {
        int fd = -1;
        Phase phase = Phase::reading;
        std::uint64_t since_ms = 0;       // when the current phase began
        AdminPeer peer;
        std::vector<std::uint8_t> in;     // the request frame as it arrives (wiped after decoding)
        std::vector<std::uint8_t> out;    // the reply frame
        std::size_t sent = 0;
        bool drain_after_reply = false;   // a refused peer may still be sending: read it before closing
        std::size_t drained = 0;
        std::shared_ptr<AdminStream> stream;  // a streamed answer still going
    };

    AdminServer(int listen_fd, int epoll_fd, std::string path, AdminHandler handler, AdminServerOptions options,
                AdminAccess access)
        : fd_(listen_fd), epoll_fd_(epoll_fd), path_(std::move(path)), handler_(std::move(handler)),
          options_(std::move(options)), access_(access) {}
    void accept_all();
    void admit(int client);
    void on_event(std::uint64_t id, std::uint32_t events);
    void read_request(std::uint64_t id, Conn& c);
    void dispatch(std::uint64_t id, Conn& c);
    void reply(std::uint64_t id, const AdminReply& reply);
    void send_frame(std::uint64_t id, Conn& c, std::vector<std::uint8_t> frame);
    void pull(std::uint64_t id, Conn& c);
    void on_piece(std::uint64_t id, AdminPiece piece);
    void write_reply(std::uint64_t id, Conn& c);
    void drain(std::uint64_t id, Conn& c);
    void watch(std::uint64_t id, int fd, std::uint32_t events, bool first);
    void close_conn(std::uint64_t id);

    int fd_ = -1;
    int epoll_fd_ = -1;
    std::string path_;
    AdminHandler handler_;
    AdminServerOptions options_;
    AdminAccess access_;
    std::unordered_map<std::uint64_t, Conn> conns_;  // by id (the epoll event's data)
    std::uint64_t next_id_ = 1;  // 0 stands for the listener
    // Shared with responders, so one that fires after the server is gone does nothing.
    std::shared_ptr<AdminServer*> self_ = std::make_shared<AdminServer*>(this);
};

}  // namespace vmx
