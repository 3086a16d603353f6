// Notices: short plain-text messages the appliance sends its admin ([alarms] mail_to), such as an
// alarm that fired or resolved. build_notice() is pure: CRLF only, 7bit ASCII, no line over 998
// bytes, marked `Auto-Submitted: auto-generated` (RFC 3834) so that responders stay quiet.
// NoticeMailer sends one from the null reverse-path (generated_mail.h) on a shard. A notice carries
// only what the caller puts in it; the alarm code puts names and numbers, never customer data.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/result.h"

namespace vmx {

class ShardReads;

class Directory;
class LocalDelivery;
class OutboundQueue;
class ShardStore;

inline constexpr std::size_t notice_subject_bytes_max = 200;
inline constexpr std::size_t notice_line_bytes_max = 900;
inline constexpr std::size_t notice_lines_max = 1000;

struct NoticeInput {
    std::string hostname;            // From: MAILER-DAEMON@hostname, and the Message-ID's domain
    std::string to;                  // one address
    std::string subject;             // cut at notice_subject_bytes_max
    std::vector<std::string> lines;  // the body; each cut at notice_line_bytes_max, at most notice_lines_max
    std::int64_t now_unix = 0;       // Date:
    std::string unique;              // letters and digits, 1..64: the Message-ID's left side
};

// The whole message; refused (invalid_argument) for an empty or multi-line address, a host name
// that is not a domain, or a unique token that is not letters and digits. Bytes outside printable
// ASCII in the subject and lines become '?'.
Result<std::string> build_notice(const NoticeInput& input);

class NoticeMailer {
public:
    NoticeMailer(ShardStore& store, const Directory& directory, LocalDelivery& local, OutboundQueue& outbound,
                 std::string hostname, ShardReads* reads = nullptr)
        : store_(store), directory_(directory), local_(local), outbound_(outbound), reads_(reads),
          hostname_(std::move(hostname)) {}

    // `done(queued, queue_id)` once the notice is durable in a queue or mailbox, or could not be.
    void send(std::string to, std::string subject, std::vector<std::string> lines,
              std::function<void(bool queued, const std::string& queue_id)> done);

private:
    ShardStore& store_;
    const Directory& directory_;
    LocalDelivery& local_;
    OutboundQueue& outbound_;
    ShardReads* reads_;  // a shared store's readers (the recipient's look-up); null: on the shard
    std::string hostname_;
};

}  // namespace vmx
