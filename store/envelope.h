// The envelope of a queued message (smtp-in / smtp-out): reverse-path, recipients with their
// delivery state, arrival time, client address, TLS details, message id. Plain values; any thread.
// encode_envelope() writes a compact versioned binary form that is sealed before storage (never
// stored in clear); decode_envelope() is strict: every limit below is checked, every length is
// bounded, no trailing byte is accepted, and decode(encode(e)) == e, encode(decode(b)) == b.
//
// Format, version 1 (integers little-endian; str = u16 length then that many bytes):
//   u8 version=1 | i64 arrival_unix | str sender | str client_address | str tls_version |
//   str tls_cipher | str message_id | u16 recipient count (1..1000) | recipients...
//   recipient: str address | u8 state | u64 user_id | u32 attempts | i64 next_try_unix | str reply
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace vmx::store {

inline constexpr std::uint8_t envelope_format_version = 1;
inline constexpr std::size_t envelope_recipients_max = 1000;    // RFC 5321 4.5.3.1.8 asks for >= 100
inline constexpr std::size_t envelope_address_bytes_max = 320;  // 64 local-part + @ + 255 domain
inline constexpr std::size_t envelope_client_bytes_max = 128;   // "[IPv6:...]:port" and a name fit
inline constexpr std::size_t envelope_tls_bytes_max = 64;       // "TLSv1.3", an IANA suite name
inline constexpr std::size_t envelope_message_id_bytes_max = 998;  // one RFC 5322 line
inline constexpr std::size_t envelope_reply_bytes_max = 4096;      // a multi-line SMTP reply

enum class RecipientState : std::uint8_t {
    pending = 0,      // not tried yet
    delivered = 1,    // in the mailbox (local) or accepted by the next hop (remote): done
    failed_temp = 2,  // 4xx: try again at next_try_unix; attempts counts the tries so far
    failed_perm = 3,  // 5xx or retry window over: done, `reply` says why (for the DSN)
};
inline constexpr std::uint8_t recipient_state_max = 3;

struct Recipient {
    std::string address;                       // forward-path, 1..320 bytes, no control bytes
    RecipientState state = RecipientState::pending;
    std::uint64_t user_id = 0;                 // the local recipient's user id; 0 for a remote one
    std::uint32_t attempts = 0;                // delivery attempts made (failed_temp)
    std::int64_t next_try_unix = 0;            // failed_temp: not before this time
    std::string reply;                         // the last failure's reply text (failed_*)

    bool done() const noexcept { return state == RecipientState::delivered || state == RecipientState::failed_perm; }
    friend bool operator==(const Recipient&, const Recipient&) = default;
};

struct Envelope {
    std::string sender;           // reverse-path; empty for the null sender <> (bounces)
    std::vector<Recipient> recipients;  // 1..1000
    std::int64_t arrival_unix = 0;
    std::string client_address;   // the SMTP client's address as text
    std::string tls_version;      // empty: the message came without TLS
    std::string tls_cipher;
    std::string message_id;

    // True when no recipient is left to try (every one delivered or failed permanently).
    bool done() const noexcept;
    friend bool operator==(const Envelope&, const Envelope&) = default;
};

// invalid_request when the envelope breaks a limit (the same checks as decoding).
Result<std::vector<std::uint8_t>> encode_envelope(const Envelope& envelope);
// corrupt for anything but an exact version-1 encoding within the limits.
Result<Envelope> decode_envelope(std::span<const std::uint8_t> bytes);

}  // namespace vmx::store
