// Shard: the event loop. One turn: submit what the last turn queued and wait (bounded by the next
// timer), handle every completion of the batch, drain the inbox, fire due timers, then queue sends,
// receive re-arms and reaps for the next submit. Many operations per io_uring_enter, one CQ
// advance per batch.
#include "core/shard.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/errc.h"
#include "core/log.h"
#include "core/shard_tokens.h"

namespace vmx {

using shard_detail::connection_token;

namespace {

constexpr std::uint16_t recv_buffer_group = 1;
constexpr std::uint64_t loop_wait_max_ms = 1000;
constexpr std::uint64_t accept_retry_ms = 100;

// Shard i runs on the i-th CPU the process may use (mod their count): under a cpuset or taskset
// the allowed CPUs need not be 0..n-1. Best effort: pinning that fails leaves the thread floating.
void pin_to_allowed_cpu(std::uint32_t index) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) return;
    const auto count = static_cast<std::uint32_t>(CPU_COUNT(&allowed));
    std::uint32_t wanted = index % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (wanted-- == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            pthread_setaffinity_np(pthread_self(), sizeof one, &one);
            return;
        }
    }
}

}  // namespace

void Service::on_peer_closed(Connection& c) { c.close(CloseMode::after_flush); }

// ---------------------------------------------------------------- Connection (shard thread only)

Result<void> Connection::send(std::string_view bytes) {
    if (state_ != State::open) return fail(CoreErrc::closed);
    const std::size_t limit = shard_->config_.send_queue_bytes_max;
    if (queued_bytes_ + bytes.size() > 2 * limit) {
        shard_->stats_.send_refusals.fetch_add(1, std::memory_order_relaxed);
        return fail(CoreErrc::send_queue_full);
    }
    while (!bytes.empty()) {
        if (!out_tail_ || out_tail_->end == OutChunk::data_bytes) {
            OutChunk* chunk = shard_->chunks_.take();
            if (out_tail_) out_tail_->next = chunk; else out_head_ = chunk;
            out_tail_ = chunk;
        }
        const std::size_t room = OutChunk::data_bytes - out_tail_->end;
        const std::size_t n = std::min(room, bytes.size());
        std::memcpy(out_tail_->data + out_tail_->end, bytes.data(), n);
        out_tail_->end += static_cast<std::uint32_t>(n);
        bytes.remove_prefix(n);
        queued_bytes_ += n;
    }
    if (queued_bytes_ > limit && !read_paused_) shard_->pause_reading(*this);
    shard_->queue_flush(*this);
    return {};
}

void Connection::close(CloseMode mode) { shard_->start_close(*this, mode); }

SocketAddress Connection::peer() const {
    SocketAddress a;
    a.length = sizeof a.storage;
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&a.storage), &a.length) < 0) a = SocketAddress{};
    return a;
}

// ---------------------------------------------------------------- set-up

Shard::Shard(std::uint32_t id, const EngineConfig& config, Mesh& mesh, std::vector<int> listen_fds,
             const std::vector<ListenerSpec>& listeners, MessageHandler on_message, LogQueue* log_queue)
    : id_(id),
      config_(config),
      mesh_(mesh),
      on_message_(std::move(on_message)),
      log_queue_(log_queue),
      listener_specs_(listeners),
      chunks_(256),
      slots_max_(config.connections_per_shard_max) {
    VMX_ASSERT(listen_fds.size() == listeners.size());
    listeners_.resize(listen_fds.size());
    for (std::size_t i = 0; i < listen_fds.size(); ++i) listeners_[i].fd = listen_fds[i];
}

Shard::~Shard() {
    for (auto& l : listeners_)
        if (l.fd >= 0) ::close(l.fd);
    for (auto& c : slots_) {
        if (c.state_ != Connection::State::free) {
            ::close(c.fd_);
            release_chunks(c);
        }
    }
}

std::uint64_t Shard::pack(Op op, std::uint32_t slot, std::uint32_t generation) noexcept {
    return (static_cast<std::uint64_t>(op) << 56) | (static_cast<std::uint64_t>(generation & 0xffffffu) << 32) | slot;
}

Result<void> Shard::setup() {
    bind_log_queue(log_queue_, static_cast<std::int32_t>(id_));
    if (config_.pin_threads) pin_to_allowed_cpu(id_);
    if (auto r = ring_.init(config_.ring_entries); !r) {
        bind_log_queue(nullptr, -1);
        return r;
    }
    std::string missing;
    if (auto r = ring_.require_operations(missing); !r) {
        log_event(LogLevel::error, "shard.kernel_too_old", "missing_io_uring_op={}", missing);
        bind_log_queue(nullptr, -1);
        return r;
    }
    // Provided buffer rings (and multishot accept) need Linux 5.19 or newer; registration fails
    // with EINVAL before that, which the caller reports.
    if (auto r = buffers_.init(ring_.raw(), recv_buffer_group, config_.recv_buffers, config_.recv_buffer_bytes); !r) {
        log_event(LogLevel::error, "shard.buffer_ring_failed", "errno_text=\"{}\" need=linux-5.19+", r.error().message());
        bind_log_queue(nullptr, -1);
        return r;
    }
    if (local_factory_) {
        auto local = local_factory_(*this);
        if (!local) {
            log_event(LogLevel::error, "shard.local_setup_failed", "error=\"{}\"", local.error().message());
            bind_log_queue(nullptr, -1);
            return fail(local.error());
        }
        local_ = std::move(*local);
    }
    for (std::size_t i = 0; i < listener_specs_.size(); ++i) {
        listeners_[i].service = listener_specs_[i].factory(*this);
        arm_accept(static_cast<std::uint32_t>(i));
    }
    arm_wake();
    now_ms_ = monotonic_ms();
    log_event(LogLevel::info, "shard.start", "ring={} listeners={} connections_max={}", ring_.describe(),
              listeners_.size(), slots_max_);
    return {};
}

void Shard::arm_accept(std::uint32_t listener) {
    ListenerState& l = listeners_[listener];
    if (l.fd < 0 || l.armed || stopping_) return;
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, pack(Op::accept, listener, 0));
    l.armed = true;
}

void Shard::arm_recv(Connection& c) {
    VMX_ASSERT(!c.recv_armed_);
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_recv_multishot(sqe, c.fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = recv_buffer_group;
    io_uring_sqe_set_data64(sqe, pack(Op::recv, c.slot_, c.generation_));
    c.recv_armed_ = true;
    ++c.ops_in_flight_;
}

void Shard::arm_wake() {
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_read(sqe, mesh_.wake_fd(id_), &wake_value_, sizeof wake_value_, 0);
    io_uring_sqe_set_data64(sqe, pack(Op::wake, 0, 0));
    wake_armed_ = true;
}

void Shard::watch_readable(int fd, std::function<void(Shard&)> fn) {
    watches_.push_back({fd, std::move(fn)});
    arm_watch(static_cast<std::uint32_t>(watches_.size() - 1));
}

void Shard::arm_watch(std::uint32_t index) {
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_poll_multishot(sqe, watches_[index].fd, POLLIN);
    io_uring_sqe_set_data64(sqe, pack(Op::watch, index, 0));
}

void Shard::issue_send(Connection& c) {
    VMX_ASSERT(!c.send_in_flight_ && c.out_head_);
    OutChunk* head = c.out_head_;
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_send(sqe, c.fd_, head->data + head->start, head->end - head->start, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, pack(Op::send, c.slot_, c.generation_));
    c.send_in_flight_ = true;
    ++c.ops_in_flight_;
}

// ---------------------------------------------------------------- the loop

void Shard::loop() {
    for (;;) {
        const int rc = ring_.submit_and_wait(wait_timeout_ms());
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
            log_event(LogLevel::error, "shard.enter_failed", "errno={}", -rc);
        }
        now_ms_ = monotonic_ms();
        stats_.loop_iterations.fetch_add(1, std::memory_order_relaxed);
        ring_.for_each_completion([this](const io_uring_cqe& cqe) { on_completion(cqe); });
        mesh_.drain(id_, [this](Message m) { on_message(m); });
        timers_.expire(now_ms_, [this](std::uint64_t token) { on_timer(token); });
        compact_timers();
        if (stopping_) tick_stop();
        finish_batch();
        if (stopping_ && live_ == 0 && std::none_of(listeners_.begin(), listeners_.end(),
                                                     [](const ListenerState& l) { return l.armed; }))
            break;
    }
    // Nothing is in flight for connections or listeners now; the wake read may still be, and
    // the ring's teardown cancels it.
    log_event(LogLevel::info, "shard.stop", "accepted={} closed={}", stats_.accepted.load(), stats_.closed.load());
    local_.reset();  // e.g. a store lane commits what is queued and joins its thread
    bind_log_queue(nullptr, -1);
}

std::uint64_t Shard::wait_timeout_ms() const {
    std::uint64_t deadline = timers_.next_deadline_ms();
    if (stopping_ && !forced_) deadline = std::min(deadline, stop_deadline_ms_);
    const std::uint64_t now = monotonic_ms();
    if (deadline <= now) return 1;
    return std::min(deadline - now, loop_wait_max_ms);
}

void Shard::on_completion(const io_uring_cqe& cqe) {
    const std::uint64_t data = cqe.user_data;
    const auto op = static_cast<Op>(data >> 56);
    const auto slot = static_cast<std::uint32_t>(data & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>((data >> 32) & 0xffffffu);
    auto connection = [&]() -> Connection* {
        if (slot >= slots_.size()) return nullptr;
        Connection& c = slots_[slot];
        if (c.state_ == Connection::State::free || (c.generation_ & 0xffffffu) != generation) return nullptr;
        return &c;
    };
    switch (op) {
        case Op::accept: on_accept(slot, cqe); break;
        case Op::recv: on_recv(connection(), cqe); break;
        case Op::send: on_send(connection(), cqe); break;
        case Op::connect: on_connect(connection(), cqe); break;
        case Op::wake:
            wake_armed_ = false;
            if (!stopping_ || live_ > 0) arm_wake();
            break;
        case Op::watch:
            if (slot < watches_.size()) {
                // A multishot poll can end on its own (the kernel's choice): arm it again, unless
                // it ended in an error, which would only repeat.
                if (!(cqe.flags & IORING_CQE_F_MORE)) {
                    if (cqe.res >= 0) arm_watch(slot);
                    else log_event(LogLevel::error, "shard.watch_failed", "fd={} errno={}", watches_[slot].fd, -cqe.res);
                }
                if (cqe.res > 0) watches_[slot].fn(*this);
            }
            break;
        case Op::ignore: break;
    }
}

void Shard::on_accept(std::uint32_t listener, const io_uring_cqe& cqe) {
    ListenerState& l = listeners_[listener];
    if (!(cqe.flags & IORING_CQE_F_MORE)) {
        l.armed = false;
        if (stopping_) {
            if (l.fd >= 0) ::close(l.fd);
            l.fd = -1;
        } else if (cqe.res == -EMFILE || cqe.res == -ENFILE || cqe.res == -ENOMEM || cqe.res == -ENOBUFS) {
            // Out of descriptors or memory: retry shortly instead of spinning on the error.
            schedule(accept_retry_ms, [listener](Shard& s) { s.arm_accept(listener); });
        } else {
            arm_accept(listener);
        }
    }
    if (cqe.res < 0) {
        if (cqe.res != -ECANCELED)
            log_event(LogLevel::warn, "accept.failed", "listener={} errno={}", listener_specs_[listener].name, -cqe.res);
        return;
    }
    if (stopping_) {
        ::close(cqe.res);
        return;
    }
    open_connection(listener, cqe.res);
}

void Shard::open_connection(std::uint32_t listener, int fd) {
    Connection* c = take_slot();
    if (!c) {
        refuse_connection(listener, fd);
        return;
    }
    c->fd_ = fd;
    c->listener_ = static_cast<std::uint16_t>(listener);
    stats_.accepted.fetch_add(1, std::memory_order_relaxed);
    start_connection(*c);
}

// A free slot, made on first need; null at connections_per_shard_max. The slot counts as live.
Connection* Shard::take_slot() {
    if (free_slots_.empty()) {
        if (slots_.size() >= slots_max_) return nullptr;
        Connection& fresh = slots_.emplace_back();
        fresh.shard_ = this;
        fresh.slot_ = static_cast<std::uint32_t>(slots_.size() - 1);
        free_slots_.push_back(fresh.slot_);
    }
    const std::uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    Connection& c = slots_[slot];
    c.state_ = Connection::State::connecting;
    c.opened_ms_ = c.last_activity_ms_ = now_ms_;
    c.queued_bytes_ = 0;
    c.ops_in_flight_ = 0;
    c.recv_armed_ = c.recv_rearm_ = c.send_in_flight_ = c.read_paused_ = false;
    c.want_writable_ = c.in_flush_list_ = c.in_reap_list_ = false;
    ++live_;
    stats_.connections_live.store(live_, std::memory_order_relaxed);
    return &c;
}

// The socket is connected (accepted, or an outbound connect completed): serve it.
void Shard::start_connection(Connection& c) {
    c.state_ = Connection::State::open;
    c.opened_ms_ = c.last_activity_ms_ = now_ms_;
    timers_.push(now_ms_ + std::min(config_.idle_timeout_ms, config_.session_timeout_ms),
                 connection_token(c.slot_, c.generation_));
    arm_recv(c);
    service_of(c).on_open(c);
}

void Shard::refuse_connection(std::uint32_t listener, int fd) {
    stats_.refused_full.fetch_add(1, std::memory_order_relaxed);
    // Rare and bounded by the accept rate: a direct non-blocking send of the busy reply is
    // simpler than giving a connection we cannot hold a slot.
    const std::string_view reply = listeners_[listener].service->busy_reply();
    if (!reply.empty()) (void)::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
    // A flood of refusals must not flood the log: one line per second with the count.
    ++refused_unlogged_;
    if (now_ms_ >= refused_logged_ms_ + 1000) {
        log_event(LogLevel::warn, "connection.refused", "listener={} reason=connections_per_shard_max count={}",
                  listener_specs_[listener].name, refused_unlogged_);
        refused_logged_ms_ = now_ms_;
        refused_unlogged_ = 0;
    }
}

void Shard::on_recv(Connection* c, const io_uring_cqe& cqe) {
    const bool has_buffer = (cqe.flags & IORING_CQE_F_BUFFER) != 0;
    const auto buffer_id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer) buffers_.note_taken();
    if (c && !(cqe.flags & IORING_CQE_F_MORE)) {
        c->recv_armed_ = false;
        --c->ops_in_flight_;
    }
    if (c && cqe.res > 0 && has_buffer) {
        c->last_activity_ms_ = now_ms_;
        stats_.bytes_received.fetch_add(static_cast<std::uint64_t>(cqe.res), std::memory_order_relaxed);
        const auto bytes = buffers_.bytes(buffer_id, static_cast<std::size_t>(cqe.res));
        deliver(*c, std::string_view(bytes.data(), bytes.size()));
    }
    if (has_buffer) buffers_.recycle(buffer_id);  // always, even for a connection that is gone
    if (!c) return;

    if (cqe.res == 0) {  // orderly EOF from the peer
        if (c->state_ == Connection::State::open) service_of(*c).on_peer_closed(*c);
        if (c->state_ == Connection::State::lingering) shut_both(*c);
        if (c->state_ == Connection::State::open) start_close(*c, CloseMode::after_flush);
        return;
    }
    if (cqe.res == -ENOBUFS) {  // every receive buffer is taken; re-arm once some come back
        stats_.recv_buffer_exhausted.fetch_add(1, std::memory_order_relaxed);
        if (!c->recv_armed_ && !c->read_paused_ && c->state_ != Connection::State::closing) {
            c->recv_rearm_ = true;
            rearm_list_.push_back(c);
        }
        return;
    }
    if (cqe.res < 0 && cqe.res != -ECANCELED) {
        start_close(*c, CloseMode::now);
        return;
    }
    // A multishot receive can end on its own (the kernel decides); keep reading while wanted.
    if (!c->recv_armed_ && !c->read_paused_ && (c->state_ == Connection::State::open ||
                                                c->state_ == Connection::State::flushing ||
                                                c->state_ == Connection::State::lingering)) {
        c->recv_rearm_ = true;
        rearm_list_.push_back(c);
    }
}

void Shard::deliver(Connection& c, std::string_view bytes) {
    switch (c.state_) {
        case Connection::State::open:
            if (c.read_paused_) {
                c.stash_.append(bytes);  // raced the pause; handed over on resume
                return;
            }
            service_of(c).on_data(c, bytes);
            return;
        default:
            return;  // closing: what the peer sends now is discarded
    }
}

void Shard::on_send(Connection* c, const io_uring_cqe& cqe) {
    if (!c) return;
    c->send_in_flight_ = false;
    --c->ops_in_flight_;
    if (cqe.res < 0) {
        start_close(*c, CloseMode::now);
        return;
    }
    c->last_activity_ms_ = now_ms_;
    stats_.bytes_sent.fetch_add(static_cast<std::uint64_t>(cqe.res), std::memory_order_relaxed);
    OutChunk* head = c->out_head_;
    VMX_ASSERT(head);
    head->start += static_cast<std::uint32_t>(cqe.res);
    c->queued_bytes_ -= static_cast<std::size_t>(cqe.res);
    if (head->start == head->end) {
        c->out_head_ = head->next;
        if (!c->out_head_) c->out_tail_ = nullptr;
        chunks_.give(head);
    }
    if (c->state_ == Connection::State::closing) return;
    const std::size_t low = config_.send_queue_bytes_max / 2;
    if (c->queued_bytes_ <= low) {
        if (c->read_paused_) resume_reading(*c);
        if (c->want_writable_ && c->state_ == Connection::State::open) {
            c->want_writable_ = false;
            service_of(*c).on_writable(*c);
        }
    }
    if (c->out_head_) {
        queue_flush(*c);
    } else if (c->state_ == Connection::State::flushing) {
        start_close(*c, CloseMode::after_flush);  // everything is out: move on to lingering
    }
}

// ---------------------------------------------------------------- back-pressure

void Shard::pause_reading(Connection& c) {
    c.read_paused_ = true;
    stats_.read_pauses.fetch_add(1, std::memory_order_relaxed);
    if (c.recv_armed_) {
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_cancel64(sqe, pack(Op::recv, c.slot_, c.generation_), 0);
        io_uring_sqe_set_data64(sqe, pack(Op::ignore, 0, 0));
    }
}

void Shard::resume_reading(Connection& c) {
    c.read_paused_ = false;
    // Hand over what raced the pause in receive-sized pieces, stopping as soon as the service's
    // replies pause reading again, so a large stash cannot overrun the send queue in one call.
    std::size_t handed = 0;
    while (handed < c.stash_.size() && !c.read_paused_ && c.state_ == Connection::State::open) {
        const std::size_t n = std::min<std::size_t>(c.stash_.size() - handed, config_.recv_buffer_bytes);
        service_of(c).on_data(c, std::string_view(c.stash_).substr(handed, n));
        handed += n;
    }
    c.stash_.erase(0, handed);
    if (c.read_paused_ || c.state_ != Connection::State::open) return;
    std::string().swap(c.stash_);  // give the memory back; stashing is the rare path
    if (!c.recv_armed_ && !c.recv_rearm_) {
        c.recv_rearm_ = true;
        rearm_list_.push_back(&c);
    }
}

void Shard::queue_flush(Connection& c) {
    if (c.in_flush_list_) return;
    c.in_flush_list_ = true;
    flush_list_.push_back(&c);
}

// ---------------------------------------------------------------- closing (the rest: shard_ending.cc)

void Shard::finish_batch() {
    for (Connection* c : rearm_list_) {
        if (c->recv_rearm_ && !c->recv_armed_ && c->state_ != Connection::State::free &&
            c->state_ != Connection::State::closing && !c->read_paused_)
            arm_recv(*c);
        c->recv_rearm_ = false;
    }
    rearm_list_.clear();
    for (Connection* c : flush_list_) {
        c->in_flush_list_ = false;
        if (c->state_ != Connection::State::closing && c->state_ != Connection::State::free &&
            !c->send_in_flight_ && c->out_head_)
            issue_send(*c);
    }
    flush_list_.clear();
    // Reap: a connection is recycled only after its last operation has completed.
    std::size_t kept = 0;
    for (Connection* c : reap_list_) {
        if (c->ops_in_flight_ == 0) {
            reap(*c);
        } else {
            reap_list_[kept++] = c;
        }
    }
    reap_list_.resize(kept);
    buffers_.publish();
    stats_.send_chunks_in_use.store(chunks_.in_use(), std::memory_order_relaxed);
    stats_.timer_entries.store(timers_.size(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------- messages and stopping

Result<void> Shard::send_message(std::uint32_t to, Message&& message) {
    auto r = mesh_.send(id_, to, std::move(message));
    if (!r) stats_.messages_dropped.fetch_add(1, std::memory_order_relaxed);
    return r;
}

void Shard::on_message(Message& m) {
    switch (m.kind) {
        case MessageKind::stop: begin_stop(); return;
        case MessageKind::ping: {
            Message reply;
            reply.kind = MessageKind::pong;
            reply.a = m.a;
            reply.b = m.b;
            (void)send_message(m.from, std::move(reply));
            return;
        }
        default:
            if (on_message_) on_message_(*this, m);
            return;
    }
}

Connection* Shard::find(ConnectionId id) noexcept {
    if (id.slot >= slots_.size()) return nullptr;
    Connection& c = slots_[id.slot];
    if (c.state_ == Connection::State::free || c.generation_ != id.generation) return nullptr;
    return &c;
}

void Shard::begin_stop() {
    if (stopping_) return;
    stopping_ = true;
    stop_deadline_ms_ = now_ms_ + config_.grace_period_ms;
    log_event(LogLevel::info, "shard.draining", "connections={} grace_ms={}", live_, config_.grace_period_ms);
    // Stop accepting: cancel each multishot accept; its last completion closes the socket.
    for (std::uint32_t i = 0; i < listeners_.size(); ++i) {
        if (!listeners_[i].armed) {
            if (listeners_[i].fd >= 0) ::close(listeners_[i].fd);
            listeners_[i].fd = -1;
            continue;
        }
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_cancel64(sqe, pack(Op::accept, i, 0), 0);
        io_uring_sqe_set_data64(sqe, pack(Op::ignore, 0, 0));
    }
    for (Connection& c : slots_) {
        if (c.state_ == Connection::State::open) service_of(c).on_drain(c);
        else if (c.state_ == Connection::State::connecting) shut_both(c);  // cancels the connect
    }
}

void Shard::tick_stop() {
    if (forced_ || now_ms_ < stop_deadline_ms_) return;
    forced_ = true;
    std::size_t cut = 0;
    for (Connection& c : slots_) {
        if (c.state_ != Connection::State::free && c.state_ != Connection::State::closing) {
            shut_both(c);
            ++cut;
        }
    }
    if (cut) log_event(LogLevel::warn, "shard.grace_expired", "connections_closed={}", cut);
}

}  // namespace vmx
