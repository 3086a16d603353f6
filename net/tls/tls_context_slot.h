// TlsServerContextSlot: the server context a listener hands to each new session, replaceable while
// the daemon serves (SIGHUP reloads the certificate). Sessions already open keep the context they
// started with (each Stream holds a reference), so nothing in flight changes under them.
// Threads: current() from any shard (an atomic shared_ptr load per new TLS session); replace() from
// the control thread.
#pragma once

#include <atomic>
#include <memory>

#include "net/tls/tls_context.h"

namespace vmx::net {

class TlsServerContextSlot {
public:
    explicit TlsServerContextSlot(std::shared_ptr<const TlsServerContext> context) : context_(std::move(context)) {}

    std::shared_ptr<const TlsServerContext> current() const { return context_.load(std::memory_order_acquire); }
    void replace(std::shared_ptr<const TlsServerContext> context) {
        context_.store(std::move(context), std::memory_order_release);
    }

private:
    std::atomic<std::shared_ptr<const TlsServerContext>> context_;
};

}  // namespace vmx::net
