// The discard server: an SMTP server on the engine that accepts every command and throws every
// message away after its final "." (STARTTLS offered when a certificate is given). It shows the
// load generator's ceiling: what the harness can push on this machine when the server costs
// almost nothing. One handler per connection, on its shard thread; the counters are shared.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/service.h"
#include "net/tls/tls_context.h"

namespace vmx::bench {

struct SinkCounters {
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> bytes{0};
    std::atomic<std::uint64_t> sessions{0};
};

// tls: null for plain SMTP only. counters must outlive the engine.
ServiceFactory smtp_sink_factory(std::shared_ptr<const net::TlsServerContext> tls, SinkCounters& counters);

}  // namespace vmx::bench
