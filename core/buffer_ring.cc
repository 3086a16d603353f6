#include "core/buffer_ring.h"

#include <sys/mman.h>

#include <cerrno>

namespace vmx {

BufferRing::~BufferRing() {
    if (br_) {
        io_uring_unregister_buf_ring(ring_, group_);
        munmap(br_, ring_bytes_);
    }
    if (storage_) munmap(storage_, storage_bytes_);
}

Result<void> BufferRing::init(io_uring* ring, std::uint16_t group, std::uint32_t count,
                              std::uint32_t buffer_bytes) {
    VMX_ASSERT(br_ == nullptr);
    VMX_ASSERT(count > 0 && (count & (count - 1)) == 0 && count <= 32768);
    ring_ = ring;
    group_ = group;
    count_ = count;
    buffer_bytes_ = buffer_bytes;

    // liburing 2.3 has no io_uring_setup_buf_ring: map the ring (page aligned) and register it by hand.
    ring_bytes_ = count * sizeof(io_uring_buf);
    void* mem = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return fail_errno(errno);
    br_ = static_cast<io_uring_buf_ring*>(mem);
    io_uring_buf_ring_init(br_);

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(br_);
    reg.ring_entries = count;
    reg.bgid = group;
    if (const int rc = io_uring_register_buf_ring(ring_, &reg, 0); rc < 0) {
        munmap(br_, ring_bytes_);
        br_ = nullptr;
        return fail_errno(-rc);
    }

    storage_bytes_ = static_cast<std::size_t>(count) * buffer_bytes;
    mem = mmap(nullptr, storage_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) {
        storage_ = nullptr;
        return fail_errno(errno);
    }
    storage_ = static_cast<char*>(mem);
    for (std::uint32_t i = 0; i < count; ++i) recycle(static_cast<std::uint16_t>(i));
    publish();
    return {};
}

std::span<const char> BufferRing::bytes(std::uint16_t buffer_id, std::size_t length) const noexcept {
    VMX_ASSERT(buffer_id < count_ && length <= buffer_bytes_);
    return {storage_ + static_cast<std::size_t>(buffer_id) * buffer_bytes_, length};
}

void BufferRing::recycle(std::uint16_t buffer_id) noexcept {
    VMX_ASSERT(buffer_id < count_);
    io_uring_buf_ring_add(br_, storage_ + static_cast<std::size_t>(buffer_id) * buffer_bytes_, buffer_bytes_,
                          buffer_id, io_uring_buf_ring_mask(count_), static_cast<int>(pending_));
    ++pending_;
}

void BufferRing::publish() noexcept {
    if (pending_ == 0) return;
    io_uring_buf_ring_advance(br_, static_cast<int>(pending_));
    available_ += pending_;
    pending_ = 0;
}

}  // namespace vmx
