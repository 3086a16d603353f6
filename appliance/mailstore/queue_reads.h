// Reads of every segment's queues for the admin's queue tools (vaultmx queue list|show): each entry's
// envelope (recipient states, attempts, next try, last reply) and body size, opened under the
// appliance scope; never the body's content. Any thread (short read transactions); the control
// thread in practice.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/envelope.h"
#include "store/queue.h"

namespace vmx {

struct QueuedMessage {
    store::QueueKind kind = store::QueueKind::smtp_in;
    std::uint32_t segment = 0;
    std::uint64_t entry_id = 0;
    std::string queue_id;          // as clients saw it in "250 ... queued as" ("O..." for smtp-out)
    store::Envelope envelope;      // empty when `error` is set
    std::size_t body_bytes = 0;    // the stored message, Received: header included
    std::error_code error;         // the entry did not open (tampered, key gone): listed, never hidden
};

// Entries of both queues of every segment, smtp-in first, in id order, at most `max`.
Result<std::vector<QueuedMessage>> list_queued(const MailStoreView& view, const crypto::KeySet& keys, std::size_t max);

// The entry with this queue id; not_found when no queue holds it.
Result<QueuedMessage> find_queued(const MailStoreView& view, const crypto::KeySet& keys, std::string_view queue_id);

}  // namespace vmx
