// The load driver's thread loop: io_uring connect/recv/send per slot, TLS as a filter, timeouts.
// See load_driver.h.
#include "benchmarks/mail/load_driver.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <bit>
#include <chrono>
#include <deque>
#include <optional>

#include "core/ring.h"
#include "net/tls/tls_session.h"

namespace vmx::bench {

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

namespace {

constexpr std::int64_t wait_ns = 50'000'000;           // the longest a loop turn sleeps: timeouts' resolution
constexpr std::int64_t connect_retry_ns = 100'000'000;  // after a refused connect, so a dead server is not spun on

enum class Op : std::uint8_t { connect = 1, recv, send, cancel };

enum class Phase : std::uint8_t { idle, connecting, handshaking, open, closing, finished };

struct Slot {
    SessionKind* kind = nullptr;
    std::uint32_t kind_slot = 0;
    std::uint32_t generation = 0;
    int fd = -1;
    Phase phase = Phase::idle;
    std::unique_ptr<LoadClient> client;
    std::unique_ptr<net::TlsSession> tls;
    std::unique_ptr<char[]> recv_buffer;
    std::string sending;              // bytes of the send in flight: never touched until it completes
    std::size_t sent = 0;
    std::string pending;              // bytes queued behind it
    bool connect_in_flight = false;
    bool recv_in_flight = false;
    bool send_in_flight = false;
    bool close_requested = false;
    std::int64_t phase_start_ns = 0;
    std::int64_t last_activity_ns = 0;
    std::int64_t restart_at_ns = 0;
    bool waiting_turn = false;        // paced: queued for the next due start
    std::int64_t free_since_ns = 0;   // paced: since when it has been waiting
};

// The server ended the connection: an orderly close, or a reset (it closed with our bytes unread).
bool peer_gone(int res) { return res == 0 || res == -ECONNRESET || res == -EPIPE; }

std::uint64_t pack(std::uint32_t slot, std::uint32_t generation, Op op) {
    return (static_cast<std::uint64_t>(op) << 56) | (static_cast<std::uint64_t>(generation & 0xffffff) << 32) | slot;
}

// Submits what is queued and waits for a completion or timeout_ns: a paced start needs a finer
// wake-up than Ring::submit_and_wait's milliseconds.
void submit_and_wait_ns(Ring& ring, std::int64_t timeout_ns) {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(ring.raw(), &cqe, 1, &ts, nullptr);
}

class LoadThread {
public:
    LoadThread(const std::vector<SlotPlan>& plan, const DriverLimits& limits, const PacePlan& pace,
               const std::shared_ptr<const net::TlsClientContext>& tls)
        : limits_(limits), pace_(pace), tls_(tls), slots_(plan.size()) {
        for (std::size_t i = 0; i < plan.size(); ++i) {
            slots_[i].kind = plan[i].kind;
            slots_[i].kind_slot = plan[i].kind_slot;
            slots_[i].recv_buffer = std::make_unique<char[]>(limits.recv_bytes);
        }
    }

    void run(const std::atomic<bool>& stop, const std::vector<WorkBudget*>& budgets) {
        const std::uint32_t entries = std::clamp<std::uint32_t>(
            std::bit_ceil(static_cast<std::uint32_t>(slots_.size() * 4 + 16)), 64, 4096);
        if (auto r = ring_.init(entries); !r) {
            for (Slot& s : slots_) s.kind->stats().error("ring");
            return;
        }
        active_ = slots_.size();
        const std::int64_t start = now_ns();
        // Paced, the slots count as free from the schedule's first start (the run's, a moment
        // before this thread's own), so the first starts are not late.
        const std::int64_t free_from =
            pace_.unit == PaceUnit::none ? start : std::min(start, pace_.schedule.due_ns(0));
        for (Slot& s : slots_) s.restart_at_ns = s.free_since_ns = free_from;
        std::int64_t next_scan = start;
        while (active_ > 0) {
            const std::int64_t now = now_ns();
            // Slots freed by this turn's completions start their next session at once (paced: queue
            // for their turn); the scan of every slot (retry timers, idle timeouts, the deadline)
            // runs once per wait_ns.
            start_freed(now);
            if (now >= next_scan) {
                if (stop.load(std::memory_order_relaxed))
                    for (WorkBudget* b : budgets) b->stop();
                start_due(now);
                expire(now);
                release_waiting(now);
                next_scan = now + wait_ns;
            }
            pace(now);
            if (active_ == 0) break;
            submit_and_wait_ns(ring_, wait_time_ns(now));
            ring_.for_each_completion([this](const io_uring_cqe& cqe) { dispatch(cqe); });
        }
    }

private:
    LoadStats& stats(Slot& s) { return s.kind->stats(); }

    void start_freed(std::int64_t now) {
        std::vector<std::uint32_t> freed;
        freed.swap(freed_);
        for (const std::uint32_t i : freed)
            if (may_restart(slots_[i], now)) start_or_queue(i, now);
    }

    void start_due(std::int64_t now) {
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            if (may_restart(slots_[i], now)) start_or_queue(i, now);
    }

    static bool may_restart(const Slot& s, std::int64_t now) {
        return s.phase == Phase::idle && !s.waiting_turn && s.restart_at_ns <= now;
    }

    void start_or_queue(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        if (pace_.unit == PaceUnit::session) return queue_for_turn(i, std::max(s.free_since_ns, s.restart_at_ns));
        start_session(i, now);
    }

    // ------------------------------------------------------------------ pacing (--rate)

    void queue_for_turn(std::uint32_t i, std::int64_t since_ns) {
        Slot& s = slots_[i];
        s.waiting_turn = true;
        s.free_since_ns = since_ns;
        waiting_.push_back({i, s.generation});
    }

    // The longest-waiting free slot; entries of slots closed while they waited are dropped.
    std::optional<std::uint32_t> next_waiting() {
        while (!waiting_.empty()) {
            const auto [i, generation] = waiting_.front();
            waiting_.pop_front();
            if (slots_[i].waiting_turn && slots_[i].generation == generation) return i;
        }
        return std::nullopt;
    }

    // Every start due by now goes to the slot that has waited longest, late or not. A slot whose
    // run starts no more work ends without taking a start (it would not be one).
    void pace(std::int64_t now) {
        if (pace_.unit == PaceUnit::none) return;
        while (pace_.schedule.due(now)) {
            const std::optional<std::uint32_t> i = next_waiting();
            if (!i) return;
            Slot& s = slots_[*i];
            if (s.kind->work_left(now) && pace_.schedule.take(s.free_since_ns)) ++stats(s).late_starts;
            grant_turn(*i, now);
        }
    }

    void grant_turn(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        s.waiting_turn = false;
        if (pace_.unit == PaceUnit::session) return start_session(i, now);
        s.last_activity_ns = now;
        ClientActions act;
        s.client->on_turn(now, act);
        apply(i, act, now);
    }

    // Once the run starts no more work, slots waiting for a turn end now rather than at their
    // scheduled times: a session slot finishes, a client waiting to send MAIL says QUIT. (At the
    // hard deadline expire() has already aborted the open connections.)
    void release_waiting(std::int64_t now) {
        if (pace_.unit == PaceUnit::none) return;
        std::deque<std::pair<std::uint32_t, std::uint32_t>> waiting;
        waiting.swap(waiting_);
        for (const auto& [i, generation] : waiting) {
            Slot& s = slots_[i];
            if (!s.waiting_turn || s.generation != generation) continue;
            if (s.kind->work_left(now) && !past_deadline(now)) {
                waiting_.push_back({i, generation});
            } else {
                grant_turn(i, now);
            }
        }
    }

    // Until the next scan, or sooner when a waiting slot's start falls due first.
    std::int64_t wait_time_ns(std::int64_t now) const {
        if (pace_.unit == PaceUnit::none || waiting_.empty()) return wait_ns;
        return std::clamp<std::int64_t>(pace_.schedule.next_due_ns() - now, 0, wait_ns);
    }

    bool past_deadline(std::int64_t now) const {
        return limits_.hard_deadline_ns != 0 && now >= limits_.hard_deadline_ns;
    }

    // Sessions silent past the idle timeout, and all of them at the hard deadline, are aborted.
    void expire(std::int64_t now) {
        const bool deadline_passed = past_deadline(now);
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            if (s.phase == Phase::idle || s.phase == Phase::finished || s.phase == Phase::closing) continue;
            if (deadline_passed) {
                stats(s).error("unfinished");
            } else if (!s.waiting_turn && now - s.last_activity_ns >= limits_.idle_timeout_ns) {
                stats(s).error("timeout");  // one waiting its turn is silent by our schedule, not the server's doing
            } else {
                continue;
            }
            abort_slot(i);
        }
    }

    void start_session(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        if (past_deadline(now) || !s.kind->want_session(now)) {
            s.phase = Phase::finished;
            --active_;
            return;
        }
        const LoadTarget& target = s.kind->target();
        s.fd = socket(target.address.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s.fd < 0) {
            stats(s).error("socket");
            s.restart_at_ns = now + connect_retry_ns;
            return;
        }
        const int one = 1;
        setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s.client = s.kind->make_client(s.kind_slot);
        s.tls.reset();
        s.sending.clear();
        s.pending.clear();
        s.sent = 0;
        s.close_requested = false;
        s.phase = Phase::connecting;
        s.phase_start_ns = s.last_activity_ns = now;
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_connect(sqe, s.fd, reinterpret_cast<const sockaddr*>(&target.address.storage),
                              target.address.length);
        io_uring_sqe_set_data64(sqe, pack(i, s.generation, Op::connect));
        s.connect_in_flight = true;
    }

    void dispatch(const io_uring_cqe& cqe) {
        const std::uint64_t data = cqe.user_data;
        const auto op = static_cast<Op>(data >> 56);
        if (op == Op::cancel) return;
        const auto i = static_cast<std::uint32_t>(data & 0xffffffff);
        if (i >= slots_.size()) return;
        Slot& s = slots_[i];
        if (((data >> 32) & 0xffffff) != (s.generation & 0xffffff)) return;  // a recycled slot's old op
        const std::int64_t now = now_ns();
        switch (op) {
            case Op::connect: return on_connect(i, cqe.res, now);
            case Op::recv: return on_recv(i, cqe.res, now);
            case Op::send: return on_send(i, cqe.res, now);
            case Op::cancel: return;
        }
    }

    void on_connect(std::uint32_t i, int res, std::int64_t now) {
        Slot& s = slots_[i];
        s.connect_in_flight = false;
        if (s.phase == Phase::closing) return maybe_close(i, now);
        if (res < 0) {
            stats(s).error("connect");
            s.close_requested = true;
            begin_close(i, now);
            slots_[i].restart_at_ns = now + connect_retry_ns;
            return;
        }
        stats(s).record(Step::connect, now - s.phase_start_ns);
        s.last_activity_ns = now;
        s.phase = Phase::open;
        arm_recv(i);
        if (s.kind->target().tls == TlsStart::implicit) begin_tls(i, now);
    }

    void begin_tls(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        auto session = net::TlsSession::connect(*tls_, s.kind->target().server_name);
        if (!session) {
            stats(s).error("tls");
            return abort_slot(i);
        }
        s.tls = std::move(*session);
        s.phase = Phase::handshaking;
        s.phase_start_ns = now;
        take_tls_output(s);
        flush(i);
    }

    void take_tls_output(Slot& s) {
        if (s.tls->outgoing().empty()) return;
        s.pending.append(s.tls->outgoing());
        s.tls->clear_outgoing();
    }

    void arm_recv(std::uint32_t i) {
        Slot& s = slots_[i];
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_recv(sqe, s.fd, s.recv_buffer.get(), limits_.recv_bytes, 0);
        io_uring_sqe_set_data64(sqe, pack(i, s.generation, Op::recv));
        s.recv_in_flight = true;
    }

    void on_recv(std::uint32_t i, int res, std::int64_t now) {
        Slot& s = slots_[i];
        s.recv_in_flight = false;
        if (s.phase == Phase::closing) return maybe_close(i, now);
        if (res <= 0) {
            if (!s.client->finished()) stats(s).error(peer_gone(res) ? "closed" : "recv");
            return abort_slot(i);
        }
        s.last_activity_ns = now;
        ClientActions act;
        const std::string_view bytes(s.recv_buffer.get(), static_cast<std::size_t>(res));
        if (!s.tls) {
            s.client->feed(bytes, now, act);
        } else if (!feed_tls(i, bytes, now, act)) {
            return;
        }
        apply(i, act, now);
        if (s.phase == Phase::open || s.phase == Phase::handshaking) arm_recv(i);
    }

    bool feed_tls(std::uint32_t i, std::string_view bytes, std::int64_t now, ClientActions& act) {
        Slot& s = slots_[i];
        std::string plain;
        const auto fed = s.tls->feed(bytes, plain);
        take_tls_output(s);
        if (!fed) {
            stats(s).error("tls");
            abort_slot(i);
            return false;
        }
        if (s.phase == Phase::handshaking && s.tls->handshake_done()) {
            stats(s).record(Step::tls_handshake, now - s.phase_start_ns);
            s.phase = Phase::open;
            s.client->on_tls_started(now, act);
        }
        if (!plain.empty()) s.client->feed(plain, now, act);
        return true;
    }

    void apply(std::uint32_t i, ClientActions& act, std::int64_t now) {
        Slot& s = slots_[i];
        if (!act.out.empty()) {
            if (!s.tls) {
                s.pending.append(act.out);
            } else if (auto w = s.tls->write(act.out); w) {
                take_tls_output(s);
            } else {
                stats(s).error("tls");
                return abort_slot(i);
            }
        }
        if (act.start_tls) {
            flush(i);
            return begin_tls(i, now);
        }
        if (act.close) {
            s.close_requested = true;
            if (s.tls && s.tls->handshake_done()) {
                s.tls->shutdown();
                take_tls_output(s);
            }
        }
        flush(i);
        if (s.close_requested && !s.send_in_flight) return begin_close(i, now);
        if (act.wait_for_turn) queue_for_turn(i, now);
    }

    void flush(std::uint32_t i) {
        Slot& s = slots_[i];
        if (s.send_in_flight || s.fd < 0) return;
        if (s.sent == s.sending.size()) {
            s.sending.clear();
            s.sent = 0;
            std::swap(s.sending, s.pending);
        }
        if (s.sending.empty()) return;
        io_uring_sqe* sqe = ring_.get_sqe();
        io_uring_prep_send(sqe, s.fd, s.sending.data() + s.sent, s.sending.size() - s.sent, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(sqe, pack(i, s.generation, Op::send));
        s.send_in_flight = true;
    }

    void on_send(std::uint32_t i, int res, std::int64_t now) {
        Slot& s = slots_[i];
        s.send_in_flight = false;
        if (s.phase == Phase::closing) return maybe_close(i, now);
        if (res < 0) {
            if (!s.client->finished()) stats(s).error(peer_gone(res) ? "closed" : "send");
            return abort_slot(i);
        }
        s.sent += static_cast<std::size_t>(res);
        s.last_activity_ns = now;
        flush(i);
        if (!s.send_in_flight) s.client->on_sent(now);
        if (s.close_requested && !s.send_in_flight) begin_close(i, now);
    }

    void abort_slot(std::uint32_t i) {
        Slot& s = slots_[i];
        s.close_requested = true;
        if (s.connect_in_flight) {
            io_uring_sqe* sqe = ring_.get_sqe();
            io_uring_prep_cancel64(sqe, pack(i, s.generation, Op::connect), 0);
            io_uring_sqe_set_data64(sqe, pack(i, s.generation, Op::cancel));
        }
        begin_close(i, now_ns());
    }

    // Shutting the socket down ends the receive (and any send) in flight; the descriptor is closed
    // once they have completed, never before (close() would not cancel them).
    void begin_close(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        if (s.phase != Phase::closing) {
            s.phase = Phase::closing;
            s.waiting_turn = false;
            if (s.fd >= 0) shutdown(s.fd, SHUT_RDWR);
            s.restart_at_ns = now;
        }
        maybe_close(i, now);
    }

    void maybe_close(std::uint32_t i, std::int64_t now) {
        Slot& s = slots_[i];
        if (s.connect_in_flight || s.recv_in_flight || s.send_in_flight) return;
        if (s.fd >= 0) close(s.fd);
        s.fd = -1;
        ++s.generation;
        s.tls.reset();
        s.client.reset();
        s.phase = Phase::idle;
        s.free_since_ns = now;
        freed_.push_back(i);
    }

    const DriverLimits& limits_;
    PacePlan pace_;
    std::deque<std::pair<std::uint32_t, std::uint32_t>> waiting_;   // paced: free slots (index, generation), oldest first
    std::shared_ptr<const net::TlsClientContext> tls_;
    std::vector<Slot> slots_;
    Ring ring_;
    std::size_t active_ = 0;
    std::vector<std::uint32_t> freed_;   // slots closed since the last turn, to start again
};

}  // namespace

void run_load_thread(const std::vector<SlotPlan>& slots, const DriverLimits& limits, const PacePlan& pace,
                     const std::shared_ptr<const net::TlsClientContext>& tls, const std::atomic<bool>& stop,
                     const std::vector<WorkBudget*>& budgets) {
    LoadThread thread(slots, limits, pace, tls);
    thread.run(stop, budgets);
}

}  // namespace vmx::bench
