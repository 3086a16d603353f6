// Queueing helpers of the SMTP handlers (see queue_message.h).
#include "appliance/smtp/queue_message.h"

#include <ctime>

namespace vmx {

std::int64_t wall_clock_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

store::Envelope queue_envelope(const net::Stream& stream, smtp::Envelope&& message, std::int64_t arrival_unix) {
    store::Envelope envelope;
    envelope.sender = std::move(message.mail_from);
    envelope.arrival_unix = arrival_unix;
    if (const auto& tls = stream.tls_info()) {
        envelope.tls_version = tls->version;
        envelope.tls_cipher = tls->cipher_iana;
    }
    for (auto& r : message.recipients) {
        store::Recipient rcpt;
        rcpt.address = std::move(r.address);
        rcpt.user_id = r.user_id;
        envelope.recipients.push_back(std::move(rcpt));
    }
    return envelope;
}

smtp::StoreOutcome store_outcome(AcceptOutcome outcome) noexcept {
    switch (outcome) {
        case AcceptOutcome::stored: return smtp::StoreOutcome::stored;
        case AcceptOutcome::full: return smtp::StoreOutcome::full;
        case AcceptOutcome::failed: return smtp::StoreOutcome::failed;
    }
    return smtp::StoreOutcome::failed;
}

}  // namespace vmx
