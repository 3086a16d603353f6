// SpscQueue: a bounded single-producer single-consumer queue without locks. Exactly one thread
// pushes and exactly one thread pops; capacity is a power of two fixed at construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "core/assert.h"

namespace vmx {

template <class T>
class SpscQueue {
public:
    explicit SpscQueue(std::size_t capacity)
        : mask_(capacity - 1), slots_(std::make_unique<std::optional<T>[]>(capacity)) {
        VMX_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0);
    }
    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    // Producer side. Returns false (and leaves `value` untouched) when full.
    bool push(T& value) {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ > mask_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ > mask_) return false;
        }
        slots_[tail & mask_].emplace(std::move(value));
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer side.
    std::optional<T> pop() {
        const std::size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head == tail_cache_) return std::nullopt;
        }
        std::optional<T> out(std::move(*slots_[head & mask_]));
        slots_[head & mask_].reset();
        head_.store(head + 1, std::memory_order_release);
        return out;
    }

    std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    // Producer and consumer indices on separate cache lines so the two threads do not bounce one.
    static constexpr std::size_t line = 64;
    const std::size_t mask_;
    std::unique_ptr<std::optional<T>[]> slots_;
    alignas(line) std::atomic<std::size_t> head_{0};
    std::size_t tail_cache_ = 0;  // consumer's view of tail
    alignas(line) std::atomic<std::size_t> tail_{0};
    std::size_t head_cache_ = 0;  // producer's view of head
};

}  // namespace vmx
