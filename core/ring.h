// Ring: one io_uring owned by one thread (the shard's). It is set up with SINGLE_ISSUER and
// DEFER_TASKRUN when the kernel has them and falls back flag by flag when it does not.
// get_sqe() never returns null: when the queue is full it submits and tries again.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

#include "core/result.h"

namespace vmx {

class Ring {
public:
    Ring() = default;
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    // Creates the ring; must be called on the thread that will submit to it (SINGLE_ISSUER).
    Result<void> init(std::uint32_t entries);

    io_uring_sqe* get_sqe();
    // Makes room for n entries in a row (a linked pair must not be split by get_sqe's own submit).
    void reserve(unsigned n);
    // Submits what is queued and waits for at least one completion or until timeout_ms passes.
    int submit_and_wait(std::uint64_t timeout_ms);
    int submit();

    io_uring* raw() noexcept { return &ring_; }
    int fd() const noexcept { return ring_.ring_fd; }
    // Checks that the kernel has every operation the engine uses; names the first one missing.
    Result<void> require_operations(std::string& missing);
    // Which setup flags the kernel accepted, for the start-up log line.
    std::string describe() const;
    bool single_issuer() const noexcept { return (setup_flags_ & IORING_SETUP_SINGLE_ISSUER) != 0; }
    bool defer_taskrun() const noexcept { return (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) != 0; }

    // Calls fn(cqe) for every completion ready now, then advances the CQ once for the batch.
    template <class Fn>
    unsigned for_each_completion(Fn&& fn) {
        unsigned head = 0;
        unsigned seen = 0;
        io_uring_cqe* cqe = nullptr;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            fn(*cqe);
            ++seen;
        }
        if (seen) io_uring_cq_advance(&ring_, seen);
        return seen;
    }

private:
    io_uring ring_{};
    bool live_ = false;
    std::uint32_t setup_flags_ = 0;
};

}  // namespace vmx
