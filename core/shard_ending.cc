// Shard: how connections end. Closing (flush, linger to EOF, shutdown, reap), the timer heap that
// carries every deadline (idle, session, linger) and the shard's own callbacks, and the lazy check
// that turns a due deadline into a timeout or a close. The loop itself is in shard.cc.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "core/clock.h"
#include "core/shard.h"
#include "core/shard_tokens.h"

namespace vmx {

using shard_detail::callback_token_bit;
using shard_detail::connection_token;
using shard_detail::linger_ms;

// ---------------------------------------------------------------- closing

void Shard::start_close(Connection& c, CloseMode mode) {
    using S = Connection::State;
    if (c.state_ == S::free || c.state_ == S::closing) return;
    if (mode == CloseMode::now || c.state_ == S::connecting) {  // nothing to flush before a connect completes
        shut_both(c);
        return;
    }
    if (c.state_ == S::lingering) return;
    if (c.out_head_ || c.send_in_flight_) {
        c.state_ = S::flushing;
        return;
    }
    // All sent: shut our side and read to EOF, so a reset does not destroy the last reply on
    // its way to the peer.
    c.state_ = S::lingering;
    c.linger_deadline_ms_ = now_ms_ + linger_ms;
    timers_.push(c.linger_deadline_ms_, connection_token(c.slot_, c.generation_));
    ::shutdown(c.fd_, SHUT_WR);
    if (!c.recv_armed_ && !c.recv_rearm_) {
        c.read_paused_ = false;
        c.recv_rearm_ = true;
        rearm_list_.push_back(&c);
    }
}

void Shard::shut_both(Connection& c) {
    if (c.state_ == Connection::State::connecting) {
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_cancel64(sqe, pack(Op::connect, c.slot_, c.generation_), 0);
        io_uring_sqe_set_data64(sqe, pack(Op::ignore, 0, 0));
    }
    c.state_ = Connection::State::closing;
    // shutdown() completes the receive and any send in flight, so the fd can be closed once their
    // completions arrive; close() alone would leave them pending. With nothing in flight (the
    // usual end: the peer's EOF ended the receive) close() alone does it: one system call less.
    if (c.ops_in_flight_ > 0) ::shutdown(c.fd_, SHUT_RDWR);
    mark_for_reap(c);
}

void Shard::mark_for_reap(Connection& c) {
    if (c.in_reap_list_) return;
    c.in_reap_list_ = true;
    reap_list_.push_back(&c);
}

void Shard::reap(Connection& c) {
    service_of(c).on_close(c);
    c.context_.reset();
    ::close(c.fd_);
    release_chunks(c);
    std::string().swap(c.stash_);
    c.fd_ = -1;
    c.state_ = Connection::State::free;
    c.in_reap_list_ = false;
    ++c.generation_;
    free_slots_.push_back(c.slot_);
    --live_;
    stats_.closed.fetch_add(1, std::memory_order_relaxed);
    stats_.connections_live.store(live_, std::memory_order_relaxed);
}

void Shard::release_chunks(Connection& c) {
    while (c.out_head_) {
        OutChunk* next = c.out_head_->next;
        chunks_.give(c.out_head_);
        c.out_head_ = next;
    }
    c.out_tail_ = nullptr;
    c.queued_bytes_ = 0;
}

// ---------------------------------------------------------------- timers

void Shard::schedule(std::uint64_t delay_ms, TimerCallback fn) {
    std::uint32_t index;
    if (!free_callbacks_.empty()) {
        index = free_callbacks_.back();
        free_callbacks_.pop_back();
        callbacks_[index] = {0, std::move(fn)};
    } else {
        index = static_cast<std::uint32_t>(callbacks_.size());
        callbacks_.emplace_back(0, std::move(fn));
    }
    timers_.push(monotonic_ms() + delay_ms, callback_token_bit | index);
}

void Shard::on_timer(std::uint64_t token) {
    if (token & callback_token_bit) {
        const auto index = static_cast<std::uint32_t>(token & 0xffffffffu);
        TimerCallback fn = std::move(callbacks_[index].second);
        free_callbacks_.push_back(index);
        if (fn) fn(*this);
        return;
    }
    const auto slot = static_cast<std::uint32_t>(token & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(token >> 32);
    if (slot >= slots_.size()) return;
    Connection& c = slots_[slot];
    if (c.state_ == Connection::State::free || (c.generation_ & 0x7fffffffu) != generation) return;
    check_connection_deadlines(c);
}

// Entries of reaped connections stay in the heap until their deadline; with many short
// connections and a long idle timeout they would pile up, so drop them once they are the majority.
void Shard::compact_timers() {
    const std::size_t live_entries_max = 2 * live_ + callbacks_.size() - free_callbacks_.size();
    if (timers_.size() < 4096 || timers_.size() <= 2 * live_entries_max) return;
    timers_.drop_if([this](std::uint64_t token) {
        if (token & callback_token_bit) return false;
        const auto slot = static_cast<std::uint32_t>(token & 0xffffffffu);
        const auto generation = static_cast<std::uint32_t>(token >> 32);
        const Connection& c = slots_[slot];
        return c.state_ == Connection::State::free || (c.generation_ & 0x7fffffffu) != generation;
    });
}

// Lazy deadlines: each connection has one pending heap entry; when it fires, the real deadline is
// computed from the connection's current state and the entry is pushed again if it is not due.
void Shard::check_connection_deadlines(Connection& c) {
    using S = Connection::State;
    if (c.state_ == S::closing) return;
    if (c.state_ == S::lingering && now_ms_ >= c.linger_deadline_ms_) {
        shut_both(c);
        return;
    }
    const std::uint64_t idle_at = c.last_activity_ms_ + config_.idle_timeout_ms;
    const std::uint64_t session_at = c.opened_ms_ + config_.session_timeout_ms;
    if (now_ms_ >= session_at || now_ms_ >= idle_at) {
        if (c.state_ != S::open) {  // already given one period to flush or linger: cut it
            shut_both(c);
            return;
        }
        const TimeoutKind kind = now_ms_ >= session_at ? TimeoutKind::session : TimeoutKind::idle;
        (kind == TimeoutKind::session ? stats_.session_timeouts : stats_.idle_timeouts)
            .fetch_add(1, std::memory_order_relaxed);
        service_of(c).on_timeout(c, kind);
        // A peer that stopped reading cannot be allowed to hold the slot through a flush.
        start_close(c, c.read_paused_ ? CloseMode::now : CloseMode::after_flush);
        if (c.state_ != S::closing) {
            c.last_activity_ms_ = now_ms_;  // the flush gets one more idle period, then it is cut
            timers_.push(now_ms_ + std::min<std::uint64_t>(config_.idle_timeout_ms, linger_ms),
                         connection_token(c.slot_, c.generation_));
        }
        return;
    }
    std::uint64_t next = std::min(idle_at, session_at);
    if (c.state_ == S::lingering) next = std::min(next, c.linger_deadline_ms_);
    timers_.push(next, connection_token(c.slot_, c.generation_));
}

}  // namespace vmx
