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
    // The slots are raw storage: nothing is constructed or written until a push, so a large queue
    // that is rarely full (a log queue, a lane's results) costs no page faults at start.
    explicit SpscQueue(std::size_t capacity) : mask_(capacity - 1), slots_(new Slot[capacity]) {
        VMX_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0);
    }
    ~SpscQueue() {
        for (std::size_t i = head_.load(std::memory_order_relaxed); i != tail_.load(std::memory_order_relaxed); ++i)
            at(i)->~T();
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
        ::new (static_cast<void*>(slots_[tail & mask_].bytes)) T(std::move(value));
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
        T* slot = at(head);
        std::optional<T> out(std::move(*slot));
        slot->~T();
        head_.store(head + 1, std::memory_order_release);
        return out;
    }

    std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    struct Slot {
        alignas(T) unsigned char bytes[sizeof(T)];  // no initialiser: `new Slot[n]` writes nothing
    };
    T* at(std::size_t index) noexcept { return std::launder(reinterpret_cast<T*>(slots_[index & mask_].bytes)); }

    // Producer and consumer indices on separate cache lines so the two threads do not bounce one.
    static constexpr std::size_t line = 64;
    const std::size_t mask_;
    std::unique_ptr<Slot[]> slots_;
    alignas(line) std::atomic<std::size_t> head_{0};
    std::size_t tail_cache_ = 0;  // consumer's view of tail
    alignas(line) std::atomic<std::size_t> tail_{0};
    std::size_t head_cache_ = 0;  // producer's view of head
};

}  // namespace vmx
