// Every kind of message the appliance sends between threads, numbered here and nowhere else (core's
// own kinds end below MessageKind::user). A payload type lives beside the part that sends it; the
// daemon's shard wiring has the one table from kind to handler. Values only: any thread.
#pragma once

#include <cstdint>

#include "core/message.h"

namespace vmx {

enum class AppMessage : std::uint32_t {
    keys_updated = static_cast<std::uint32_t>(MessageKind::user),  // control -> shard: a key snapshot
    mailbox_restore,    // control -> owner shard: trash -> live (answered by reply)
    session_started,    // shard -> control: a login became a live session
    session_ended,      // shard -> control
    login_attempt,      // shard -> control: one line of a user's login history
    logout_user,        // control -> every shard: end a user's live sessions
    deliver,            // queue shard -> mailbox owner shard: append for these recipients (answered by reply)
    pop3_lock,          // POP3 shard -> owner shard: take the maildrop lock (answered by reply)
    pop3_unlock,        // POP3 shard -> owner shard
    pop3_expunge,       // POP3 shard -> owner shard: QUIT's deletions (answered by reply)
    rewrap_start,       // control -> shard: walk owned segments for a retiring key version
    rewrap_progress,    // shard -> control
    submission_rate,    // submission shard -> the user's owner shard: count a message (answered by reply)
    queue_action,       // control -> the queue's shard: retry or delete smtp-out entries (answered by reply)
    relay_auth,         // control -> every shard: the relayhost's credentials changed
    notice_mail,        // control -> a shard: mail the admin a notice (answered by reply)
    mailbox_export,     // control -> owner shard: the next piece of a user export (answered by reply)
    mailbox_erase,      // control -> owner shard: a step of a closed account's purge (answered by reply)
    mailbox_headers,    // control -> owner shard: header fields for the support view (answered by reply)
    portal_login,       // control -> a shard: a portal sign-in through the shared login flow (answered by reply)
    logout_session,     // control -> a shard: end one live session (the portal's "log out this device")
    staged_export,      // control -> owner shard: prepare, status, read or discard a staged export (answered by reply)
    reply,              // any -> the caller: the answer to a request, by token (common/shard_calls.h)
    end_,               // one past the last kind
};

constexpr MessageKind message_kind(AppMessage m) noexcept { return static_cast<MessageKind>(static_cast<std::uint32_t>(m)); }

inline constexpr MessageKind message_keys_updated = message_kind(AppMessage::keys_updated);
inline constexpr MessageKind message_mailbox_restore = message_kind(AppMessage::mailbox_restore);
inline constexpr MessageKind message_queue_action = message_kind(AppMessage::queue_action);
inline constexpr MessageKind message_relay_auth = message_kind(AppMessage::relay_auth);
inline constexpr MessageKind message_notice_mail = message_kind(AppMessage::notice_mail);
inline constexpr MessageKind message_mailbox_export = message_kind(AppMessage::mailbox_export);
inline constexpr MessageKind message_mailbox_erase = message_kind(AppMessage::mailbox_erase);
inline constexpr MessageKind message_mailbox_headers = message_kind(AppMessage::mailbox_headers);
inline constexpr MessageKind message_staged_export = message_kind(AppMessage::staged_export);
inline constexpr MessageKind message_session_started = message_kind(AppMessage::session_started);
inline constexpr MessageKind message_session_ended = message_kind(AppMessage::session_ended);
inline constexpr MessageKind message_login_attempt = message_kind(AppMessage::login_attempt);
inline constexpr MessageKind message_logout_user = message_kind(AppMessage::logout_user);
inline constexpr MessageKind message_deliver = message_kind(AppMessage::deliver);
inline constexpr MessageKind message_pop3_lock = message_kind(AppMessage::pop3_lock);
inline constexpr MessageKind message_pop3_unlock = message_kind(AppMessage::pop3_unlock);
inline constexpr MessageKind message_pop3_expunge = message_kind(AppMessage::pop3_expunge);
inline constexpr MessageKind message_rewrap_start = message_kind(AppMessage::rewrap_start);
inline constexpr MessageKind message_rewrap_progress = message_kind(AppMessage::rewrap_progress);
inline constexpr MessageKind message_reply = message_kind(AppMessage::reply);

// The slot of an appliance kind in a table indexed from keys_updated; nullopt-like end_ for others.
constexpr std::uint32_t app_message_index(MessageKind kind) noexcept {
    const auto k = static_cast<std::uint32_t>(kind);
    const auto first = static_cast<std::uint32_t>(AppMessage::keys_updated);
    const auto end = static_cast<std::uint32_t>(AppMessage::end_);
    return k >= first && k < end ? k - first : end - first;
}
inline constexpr std::uint32_t app_message_count = app_message_index(message_kind(AppMessage::end_));

}  // namespace vmx
