// Mesh: the lock-free message paths between the engine's threads. Endpoints 0..N-1 are the shards,
// endpoint N is the control thread. Each receiver has one SPSC queue per sender, so a push never
// contends, and one eventfd that the sender writes only when the receiver has not yet been woken.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/message.h"
#include "core/result.h"
#include "core/spsc_queue.h"

namespace vmx {

class Mesh {
public:
    Mesh(std::uint32_t shard_count, std::uint32_t queue_capacity);
    ~Mesh();
    Mesh(const Mesh&) = delete;
    Mesh& operator=(const Mesh&) = delete;

    std::uint32_t endpoints() const noexcept { return static_cast<std::uint32_t>(inboxes_.size()); }
    std::uint32_t control_endpoint() const noexcept { return endpoints() - 1; }

    // Called only by the thread that owns endpoint `from`. Fails with queue_full when the receiver
    // is that far behind; the message is then left untouched (not moved from), and the caller
    // decides what that means (send it again later, or answer its own caller).
    Result<void> send(std::uint32_t from, std::uint32_t to, Message&& message);

    // Called only by the thread that owns endpoint `to`: clears the wake flag, then pops every
    // waiting message (from all senders) and hands each to fn. Returns how many it handled.
    template <class Fn>
    std::size_t drain(std::uint32_t to, Fn&& fn) {
        Inbox& in = *inboxes_[to];
        in.woken.exchange(false, std::memory_order_acq_rel);
        std::size_t handled = 0;
        for (auto& queue : in.from) {
            while (auto m = queue->pop()) {
                fn(std::move(*m));
                ++handled;
            }
        }
        return handled;
    }

    // The eventfd that becomes readable when messages wait for `to`.
    int wake_fd(std::uint32_t to) const noexcept { return inboxes_[to]->event_fd; }

private:
    struct Inbox {
        std::vector<std::unique_ptr<SpscQueue<Message>>> from;  // indexed by sender
        std::atomic<bool> woken{false};
        int event_fd = -1;
    };
    std::vector<std::unique_ptr<Inbox>> inboxes_;
};

}  // namespace vmx
