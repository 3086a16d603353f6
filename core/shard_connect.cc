// Shard: connections it opens itself (Shard::connect): a socket, an io_uring connect linked to a
// timeout, and, once connected, the same life as an accepted connection. The loop is in shard.cc,
// closing in shard_ending.cc.
#include "core/shard.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/errc.h"

namespace vmx {

std::uint32_t Shard::add_service(std::unique_ptr<Service> service) {
    ListenerState& l = listeners_.emplace_back();
    l.service = std::move(service);
    return static_cast<std::uint32_t>(listeners_.size() - 1);
}

Result<ConnectionId> Shard::connect(std::uint32_t service, const SocketAddress& to, std::uint64_t timeout_ms,
                                    std::unique_ptr<ConnectionContext> context) {
    VMX_ASSERT(service < listeners_.size() && listeners_[service].fd < 0 && listeners_[service].service);
    if (stopping_) return fail(CoreErrc::closed);
    const int fd = ::socket(to.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return fail(std::error_code(errno, std::system_category()));
    Connection* c = take_slot();
    if (!c) {
        ::close(fd);
        return fail(CoreErrc::table_full);
    }
    c->fd_ = fd;
    c->listener_ = static_cast<std::uint16_t>(service);
    c->remote_ = to;
    c->context_ = std::move(context);
    // The connect and a linked timeout: the timeout cancels the connect (-ECANCELED). Both SQEs
    // point into the slot, which outlives the connect (a slot is reaped only with nothing in flight).
    c->connect_timeout_ = {static_cast<long long>(timeout_ms / 1000), static_cast<long long>((timeout_ms % 1000) * 1000000)};
    ring_.reserve(2);
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&c->remote_.storage), c->remote_.length);
    io_uring_sqe_set_data64(sqe, pack(Op::connect, c->slot_, c->generation_));
    sqe->flags |= IOSQE_IO_LINK;
    ++c->ops_in_flight_;
    io_uring_sqe* timeout = ring_.get_sqe();
    io_uring_prep_link_timeout(timeout, &c->connect_timeout_, 0);
    io_uring_sqe_set_data64(timeout, pack(Op::ignore, 0, 0));
    return c->id();
}

void Shard::on_connect(Connection* c, const io_uring_cqe& cqe) {
    if (!c) return;
    --c->ops_in_flight_;
    if (c->state_ != Connection::State::connecting) return;  // cut while connecting (a stop)
    if (cqe.res < 0) {
        stats_.connect_failures.fetch_add(1, std::memory_order_relaxed);
        const int error = cqe.res == -ECANCELED ? ETIMEDOUT : -cqe.res;
        service_of(*c).on_connect_failed(*c, std::error_code(error, std::system_category()));
        c->state_ = Connection::State::closing;
        mark_for_reap(*c);
        return;
    }
    stats_.connected.fetch_add(1, std::memory_order_relaxed);
    start_connection(*c);
}

}  // namespace vmx
