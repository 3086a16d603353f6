// Messages the appliance writes itself (bounces, alarm notices) leave from the null reverse-path, so
// they never bounce back (RFC 5321 4.5.5, 6.1), to one address: into the mailbox when it is a local
// user whose account is open, through smtp-out otherwise, never out and back in. On a store shared
// by nodes (`reads` set) the directory look-up runs on a store reader. Shard thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "appliance/delivery/local_delivery.h"

namespace vmx {

class Directory;
class OutboundQueue;
class ShardReads;
class ShardStore;

struct GeneratedMail {
    std::string to;                          // one address
    std::string message_id;                  // "unique@host", as in the message's Message-ID:
    std::shared_ptr<const std::string> body; // the whole message, CRLF
    std::int64_t now_unix = 0;               // arrival
};

// `done` gets the outcome, the queue id and whether it went to a local mailbox.
using GeneratedMailDone = std::function<void(AcceptOutcome, const std::string& queue_id, bool to_mailbox)>;
void queue_generated_mail(ShardStore& store, const Directory& directory, ShardReads* reads, LocalDelivery& local,
                          OutboundQueue& outbound, GeneratedMail mail, const GeneratedMailDone& done);

// Random lowercase hex, `bytes` long before encoding, for Message-IDs and boundaries.
std::string random_hex(std::size_t bytes);

}  // namespace vmx
