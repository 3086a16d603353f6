// Recipients of a queued message that failed for good, as local and outbound delivery report them
// to the Bouncer (bounces.h). Plain references valid during the call only; shard thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/envelope.h"

namespace vmx {

struct FailedDelivery {
    const store::Envelope& envelope;        // states as they are now (the failed ones: failed_perm)
    std::vector<std::size_t> failed;        // indexes into envelope.recipients
    std::vector<std::string> remote_hosts;  // per failed recipient: the host whose reply failed it, or ""
    std::string_view body;                  // the queued message
    std::string queue_id;
};

// `done(true)` once the bounce is durable, `done(false)` when it could not be queued; exactly once,
// on the reporting shard.
using BounceDone = std::function<void(bool bounced)>;
using BounceHook = std::function<void(const FailedDelivery&, BounceDone done)>;

}  // namespace vmx
