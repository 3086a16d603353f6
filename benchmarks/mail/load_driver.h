// The load driver: client threads, each with its own io_uring, that hold a fixed number of
// connection slots and run protocol sessions on them back to back (connect, optional TLS, the
// LoadClient's session, close, next) until the budget says stop. One thread per --threads; a
// thread touches only its own slots; the kinds' budgets are the only shared state.
// Closed loop by default: a slot starts its next session as soon as the last one ended. Paced
// (--rate), the thread's PaceSchedule hands out starts: of sessions (a free slot is an idle one)
// or of transactions (a free slot is a connection whose client waits for its turn); a free slot
// waits for the next due start, and the loop's wait ends at that time.
// Invariants: one send and one receive in flight per connection at most; a socket is closed only
// after its last operation completed; no session outlives the run's hard deadline.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/mail/load_client.h"
#include "benchmarks/mail/load_stats.h"
#include "benchmarks/mail/pace_schedule.h"
#include "benchmarks/mail/smtp_client.h"
#include "core/socket_address.h"
#include "net/tls/tls_context.h"

namespace vmx::bench {

std::int64_t now_ns();

struct LoadTarget {
    SocketAddress address;
    TlsStart tls = TlsStart::none;   // implicit: handshake right after connect
    std::string server_name;         // SNI; empty for an address literal
};

// One kind of session a load thread runs (SMTP or POP3): it decides whether another session may
// start and makes its client. Owned by the thread that runs it.
class SessionKind {
public:
    virtual ~SessionKind() = default;
    virtual const LoadTarget& target() const = 0;
    virtual bool want_session(std::int64_t now_ns) = 0;
    // Whether the run may still start work of this kind (false for good once false).
    virtual bool work_left(std::int64_t now_ns) const = 0;
    virtual std::unique_ptr<LoadClient> make_client(std::uint32_t kind_slot) = 0;
    virtual LoadStats& stats() = 0;
};

struct SlotPlan {
    SessionKind* kind = nullptr;
    std::uint32_t kind_slot = 0;   // the slot's index among the connections of its kind
};

struct DriverLimits {
    std::int64_t idle_timeout_ns = 30'000'000'000;   // no byte either way for this long: "timeout"
    std::int64_t hard_deadline_ns = 0;               // sessions still running then: "unfinished"
    std::uint32_t recv_bytes = 32768;
};

// This thread's pacing: unit none (closed loop) or session / transaction on `schedule`.
struct PacePlan {
    PaceUnit unit = PaceUnit::none;
    PaceSchedule schedule;
};

// Runs the slots on the calling thread until every slot has finished. `stop`: set from a signal
// handler; the kinds' budgets then refuse new work and the sessions in flight finish.
void run_load_thread(const std::vector<SlotPlan>& slots, const DriverLimits& limits, const PacePlan& pace,
                     const std::shared_ptr<const net::TlsClientContext>& tls, const std::atomic<bool>& stop,
                     const std::vector<WorkBudget*>& budgets);

}  // namespace vmx::bench
