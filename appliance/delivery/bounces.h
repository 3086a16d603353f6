// Bounces: an RFC 3464 delivery status notification (dsn.h) for recipients that failed for good,
// sent to the message's envelope sender with the null reverse-path (so it can never bounce back,
// RFC 5321 6.1): into the sender's mailbox when the sender is a local user, through smtp-out
// otherwise. Both local and outbound delivery report here. Shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "appliance/delivery/failed_delivery.h"

namespace vmx {

class ShardReads;

class Directory;
class LocalDelivery;
class OutboundQueue;
class ShardStore;

struct BounceOptions {
    std::string reporting_mta;                      // our host name ([smtp] hostname)
    std::size_t original_headers_bytes_max = 65536; // of the failed message, in the bounce
    std::function<std::int64_t()> now_unix;         // empty: the wall clock
};

class Bouncer {
public:
    Bouncer(ShardStore& store, const Directory& directory, LocalDelivery& local, OutboundQueue& outbound,
            BounceOptions options, ShardReads* reads = nullptr);

    // Never for a message from the null sender. `done(true)` once the bounce is durable,
    // `done(false)` when it could not be made or queued (the caller keeps the failures temporary).
    void bounce(const FailedDelivery& failed, BounceDone done);

    std::uint64_t sent() const noexcept { return sent_; }

private:
    ShardStore& store_;
    const Directory& directory_;
    LocalDelivery& local_;
    OutboundQueue& outbound_;
    ShardReads* reads_;  // a shared store's readers (the recipient's look-up); null: on the shard
    BounceOptions options_;
    std::uint64_t sent_ = 0;
};

}  // namespace vmx
