// Messages the appliance writes itself (see generated_mail.h).
#include "appliance/delivery/generated_mail.h"

#include <fmt/format.h>

#include <ctime>
#include <vector>

#include "appliance/delivery/outbound_queue.h"
#include "appliance/directory/account.h"
#include "appliance/directory/directory_view.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"
#include "crypto/random.h"

namespace vmx {

std::string random_hex(std::size_t bytes) {
    std::vector<std::uint8_t> raw(bytes);
    if (!crypto::random_bytes(raw)) return fmt::format("{:x}", static_cast<std::uint64_t>(std::time(nullptr)));
    std::string out;
    for (std::uint8_t b : raw) out += fmt::format("{:02x}", b);
    return out;
}

void queue_generated_mail(ShardStore& store, const Directory& directory, ShardReads* reads, LocalDelivery& local,
                          OutboundQueue& outbound, GeneratedMail mail, const GeneratedMailDone& done) {
    // The user whose open account has this address, or 0: any thread.
    auto look_up = [&directory, keys = store.keys_snapshot(), to = mail.to]() -> std::uint64_t {
        auto view = DirectoryView::open(directory, keys);
        if (!view) return 0;
        auto user = view->find_user(to);
        return user && user->state != UserState::closed ? user->id : 0;
    };
    auto queue = [&local, &outbound, mail = std::make_shared<GeneratedMail>(std::move(mail)), done](std::uint64_t user_id) {
        store::Envelope envelope;
        envelope.arrival_unix = mail->now_unix;
        envelope.client_address = "localhost";
        envelope.message_id = std::move(mail->message_id);
        store::Recipient to;
        to.address = std::move(mail->to);
        to.user_id = user_id;
        const bool to_mailbox = user_id != 0;
        envelope.recipients.push_back(std::move(to));
        auto queued = [to_mailbox, done](AcceptOutcome outcome, const std::string& queue_id) {
            done(outcome, queue_id, to_mailbox);
        };
        if (to_mailbox) local.accept(std::move(envelope), std::move(mail->body), std::move(queued));
        else outbound.accept(std::move(envelope), std::move(mail->body), std::move(queued));
    };
    if (!read_then(reads, look_up, queue)) done(AcceptOutcome::failed, {}, false);
}

}  // namespace vmx
