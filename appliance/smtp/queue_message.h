// What both SMTP handlers do to queue an accepted message: the queue's envelope from the engine's,
// with the TLS details of the stream, and the engine's view of a queue write's outcome. Shard
// thread; plain functions.
#pragma once

#include <cstdint>

#include "appliance/delivery/local_delivery.h"
#include "net/smtp/session.h"
#include "net/stream/stream.h"
#include "store/envelope.h"

namespace vmx {

std::int64_t wall_clock_unix();  // seconds since 1970, for arrival times and Date:

// Sender, recipients (with their user ids: 0 for a remote one), arrival and TLS; the client's
// address is the caller's to set (submission may keep it out).
store::Envelope queue_envelope(const net::Stream& stream, smtp::Envelope&& message, std::int64_t arrival_unix);

smtp::StoreOutcome store_outcome(AcceptOutcome outcome) noexcept;

}  // namespace vmx
