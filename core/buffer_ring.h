// BufferRing: the shard's provided-buffer ring for multishot receives. The kernel picks a buffer
// for each receive completion; the shard hands it back with recycle() once the bytes are consumed,
// so receiving allocates nothing. Owned and touched by the shard thread only.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx {

class BufferRing {
public:
    BufferRing() = default;
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    // count must be a power of two. Registers the ring with group id `group`.
    Result<void> init(io_uring* ring, std::uint16_t group, std::uint32_t count, std::uint32_t buffer_bytes);

    std::uint16_t group() const noexcept { return group_; }
    std::span<const char> bytes(std::uint16_t buffer_id, std::size_t length) const noexcept;
    // Returns a buffer to the kernel; made visible by publish() once per batch.
    void recycle(std::uint16_t buffer_id) noexcept;
    void publish() noexcept;
    void note_taken() noexcept { --available_; }  // the kernel filled one (a receive completion)
    std::uint32_t available() const noexcept { return available_; }

private:
    io_uring* ring_ = nullptr;
    io_uring_buf_ring* br_ = nullptr;
    std::size_t ring_bytes_ = 0;
    char* storage_ = nullptr;
    std::size_t storage_bytes_ = 0;
    std::uint16_t group_ = 0;
    std::uint32_t count_ = 0;
    std::uint32_t buffer_bytes_ = 0;
    std::uint32_t pending_ = 0;    // recycled but not yet published
    std::uint32_t available_ = 0;  // buffers the kernel may use (approximate, for metrics)
};

}  // namespace vmx
