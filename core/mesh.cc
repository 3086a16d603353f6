#include "core/mesh.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "core/errc.h"

namespace vmx {

Mesh::Mesh(std::uint32_t shard_count, std::uint32_t queue_capacity) {
    const std::uint32_t n = shard_count + 1;
    inboxes_.reserve(n);
    for (std::uint32_t to = 0; to < n; ++to) {
        auto inbox = std::make_unique<Inbox>();
        for (std::uint32_t from = 0; from < n; ++from)
            inbox->from.push_back(std::make_unique<SpscQueue<Message>>(queue_capacity));
        inbox->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        VMX_ASSERT(inbox->event_fd >= 0);
        inboxes_.push_back(std::move(inbox));
    }
}

Mesh::~Mesh() {
    for (auto& inbox : inboxes_) close(inbox->event_fd);
}

Result<void> Mesh::send(std::uint32_t from, std::uint32_t to, Message&& message) {
    VMX_ASSERT(from < endpoints() && to < endpoints());
    Inbox& in = *inboxes_[to];
    message.from = from;
    if (!in.from[from]->push(message)) return fail(CoreErrc::queue_full);
    // Wake the receiver only on the first message since it last drained: one write per wake-up,
    // not per message.
    if (!in.woken.exchange(true, std::memory_order_acq_rel)) {
        const std::uint64_t one = 1;
        while (write(in.event_fd, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
    return {};
}

}  // namespace vmx
