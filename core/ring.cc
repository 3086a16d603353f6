#include "core/ring.h"

#include <cerrno>
#include <cstring>

#include "core/errc.h"

namespace vmx {

Ring::~Ring() {
    if (live_) io_uring_queue_exit(&ring_);
}

Result<void> Ring::init(std::uint32_t entries) {
    VMX_ASSERT(!live_);
    // Try the best set first and drop one flag at a time: older kernels (before 6.0/6.1) refuse
    // DEFER_TASKRUN and SINGLE_ISSUER with -EINVAL.
    const std::uint32_t attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int last = 0;
    for (const std::uint32_t flags : attempts) {
        io_uring_params params{};
        params.flags = flags;
        last = io_uring_queue_init_params(entries, &ring_, &params);
        if (last == 0) {
            live_ = true;
            setup_flags_ = flags;
            return {};
        }
        if (last != -EINVAL) break;
    }
    return fail_errno(-last);
}

io_uring_sqe* Ring::get_sqe() {
    for (;;) {
        if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
        // Full: hand the queued entries to the kernel and take a fresh slot.
        const int rc = io_uring_submit(&ring_);
        VMX_ASSERT(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
    }
}

void Ring::reserve(unsigned n) {
    while (io_uring_sq_space_left(&ring_) < n) {
        const int rc = io_uring_submit(&ring_);
        VMX_ASSERT(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY);
    }
}

int Ring::submit() { return io_uring_submit(&ring_); }

int Ring::submit_and_wait(std::uint64_t timeout_ms) {
    __kernel_timespec ts{};
    ts.tv_sec = static_cast<long long>(timeout_ms / 1000);
    ts.tv_nsec = static_cast<long long>((timeout_ms % 1000) * 1000000);
    io_uring_cqe* cqe = nullptr;
    return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

Result<void> Ring::require_operations(std::string& missing) {
    struct Needed {
        int op;
        const char* name;
    };
    static constexpr Needed needed[] = {
        {IORING_OP_ACCEPT, "accept"}, {IORING_OP_RECV, "recv"},     {IORING_OP_SEND, "send"},
        {IORING_OP_READ, "read"},     {IORING_OP_ASYNC_CANCEL, "cancel"}, {IORING_OP_NOP, "nop"},
        {IORING_OP_CONNECT, "connect"}, {IORING_OP_LINK_TIMEOUT, "link_timeout"},
    };
    io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
    if (!probe) {
        missing = "probe";
        return fail(CoreErrc::ring_setup_failed);
    }
    for (const Needed& n : needed) {
        if (!io_uring_opcode_supported(probe, n.op)) {
            missing = n.name;
            io_uring_free_probe(probe);
            return fail(CoreErrc::ring_setup_failed);
        }
    }
    io_uring_free_probe(probe);
    return {};
}

std::string Ring::describe() const {
    std::string out;
    if (setup_flags_ & IORING_SETUP_SINGLE_ISSUER) out += "single_issuer,";
    if (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) out += "defer_taskrun,";
    if (setup_flags_ & IORING_SETUP_COOP_TASKRUN) out += "coop_taskrun,";
    if (out.empty()) return "plain";
    out.pop_back();
    return out;
}

}  // namespace vmx
