// A mailbox's messages with the header fields the support view shows (`vaultmx support mailbox`),
// read on the mailbox's owner shard a few messages per step, as a user export is: the whole state
// is this value, it goes to the owner shard inside a MailboxHeadersStep and comes back with more
// rows, so no shard keeps a table of them and a long mailbox never holds a shard for long. Only the
// start of each message is opened (at most support_head_bytes_max, chunk by chunk, each chunk in
// its own short read transaction); the bytes read are wiped once the fields are taken out.
// Owner shard while in a step (fill); any thread may hold or destroy it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/support_headers.h"
#include "core/message.h"
#include "core/result.h"
#include "store/mailbox.h"

namespace vmx {

// Bytes of a message read for its header fields: RFC 5322's header sections are rarely over a
// few KiB, and one body chunk (store::body_chunk_bytes) is 64 KiB. Messages per step: a step
// opens at most this many messages, so the owner shard answers its clients again after at most
// 64 chunk reads. Neither is a thing an admin would tune, so they are constants, not settings.
inline constexpr std::size_t support_head_bytes_max = std::size_t{64} * 1024;
inline constexpr std::size_t support_messages_per_step = 64;

struct SupportRow {
    store::MessageInfo info;
    SupportHeaders headers;
    std::error_code read_error;  // set: the message did not open (its row shows no header fields)
};

class MailboxHeaders {
public:
    MailboxHeaders(const store::MailboxRef& box, store::ListTrash trash) : box_(box), trash_(trash) {}
    MailboxHeaders(const MailboxHeaders&) = delete;
    MailboxHeaders& operator=(const MailboxHeaders&) = delete;
    ~MailboxHeaders();  // wipes the fields read (customer data)

    // Reads the header fields of up to messages_max more messages. The first call lists the
    // mailbox (live ones, then the trash if asked, each by id); a message purged since is left
    // out. A message that does not open or fails its integrity check gets a row with read_error;
    // only a failed listing is an error. The owner shard, or a store reader for it.
    Result<void> fill(const MailStoreView& view, const crypto::KeySet& keys, std::size_t messages_max);
    bool done() const noexcept { return listing_.has_value() && next_ >= listing_->size(); }
    const std::vector<SupportRow>& rows() const noexcept { return rows_; }
    const store::MailboxRef& box() const noexcept { return box_; }

private:
    Result<void> list(const MailStoreView& view, const crypto::KeySet& keys);

    store::MailboxRef box_;
    store::ListTrash trash_;
    std::optional<std::vector<store::MessageInfo>> listing_;
    std::size_t next_ = 0;  // the next message of the listing to open
    std::vector<SupportRow> rows_;
};

// The first bytes of one message (at most support_head_bytes_max, stopping after the chunk that
// ends its header section) and the support view's fields from them. not_found for a message that
// is not there. Any thread that may read the view.
Result<SupportHeaders> read_message_headers(const MailStoreView& view, const crypto::KeySet& keys,
                                            const store::MailboxRef& box, std::uint64_t message_id);

// control -> owner shard: the state, to read more rows; owner shard -> control, as the reply: the
// same value with the rows added (or the error that ended it).
struct MailboxHeadersStep final : MessagePayload {
    std::unique_ptr<MailboxHeaders> state;
    std::error_code error;
};

}  // namespace vmx
