// One entry of the audit log (appliance/audit_log.h): its fields, the limits on them, the
// redaction of secret arguments, the canonical byte encoding the hash chain is computed over, and
// the one-line form `vaultmx audit show` prints. Pure functions; any thread may call them.
// Invariant: an encoded entry always decodes to itself, and decode accepts nothing else (every
// length within its limit, no trailing bytes), so one entry has exactly one encoding.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmx {

inline constexpr std::size_t audit_command_bytes_max = 64;
inline constexpr std::size_t audit_argument_bytes_max = 256;
inline constexpr std::size_t audit_arguments_max = 32;
inline constexpr std::size_t audit_error_class_bytes_max = 32;
inline constexpr std::size_t audit_message_bytes_max = 256;
inline constexpr std::size_t audit_hash_bytes = 32;
inline constexpr std::uint8_t audit_entry_format_version = 1;
// Sequences are record numbers in store/record_key.h, which keeps 60 bits for them.
inline constexpr std::uint64_t audit_sequence_max = (std::uint64_t{1} << 60) - 1;
// What replaces a secret option's value.
inline constexpr std::string_view audit_redacted = "<redacted>";

using AuditHash = std::array<std::uint8_t, audit_hash_bytes>;

enum class AuditOutcome : std::uint8_t { ok = 0, error = 1 };

struct AuditResult {
    AuditOutcome outcome = AuditOutcome::ok;
    std::string error_class;  // empty when ok; e.g. "invalid_argument", "not_found", "refused"
    std::string message;      // one short line, never a secret; empty when ok

    static AuditResult success() { return {}; }
    static AuditResult failure(std::string error_class, std::string message) {
        return {AuditOutcome::error, std::move(error_class), std::move(message)};
    }
    friend bool operator==(const AuditResult&, const AuditResult&) = default;
};

struct AuditEntry {
    std::uint64_t sequence = 0;          // given by AuditLog::append (ignored on input)
    std::int64_t time_unix = 0;          // when the command ran (append keeps it non-decreasing)
    std::uint32_t actor_uid = 0;         // the admin socket peer's uid (SO_PEERCRED)
    std::string command;                 // the command's words: "user add", "key rotate"
    std::vector<std::string> arguments;  // the rest of the command line, redacted (redact_arguments)
    AuditResult result;
    AuditHash previous_hash{};  // hash of entry sequence - 1 (all zero for entry 1); set by append
    friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

// True for an option whose value is a secret: --password, --new-password, --app-password,
// --secret, --totp-secret, --token, --code, --otp, --master-key (ASCII case ignored).
bool is_secret_option(std::string_view option) noexcept;

// The arguments with every secret value replaced by audit_redacted: the word after a secret
// option ("--password", "x" -> "--password", "<redacted>"), the value of "--name=value" when the
// name is a secret option or contains pass, secret, token or key. Flags such as --password-stdin
// take no value and are kept as they are (the password itself came on stdin, which the log never
// sees). Idempotent. A positional secret is the caller's to leave out.
std::vector<std::string> redact_arguments(std::span<const std::string> arguments);

// The entry as it will be stored: arguments redacted, then every field cut to its limit (at a
// UTF-8 character boundary, marked with "..."), arguments beyond audit_arguments_max folded into a
// last "(N more)". invalid_request (StoreErrc) for an empty command or an ok result with an error class.
Result<AuditEntry> normalise_audit_entry(AuditEntry entry);

// The canonical encoding (version 1, integers little-endian):
//   format (1) = 1 | sequence (8) | time_unix (8, two's complement) | actor_uid (4) | previous_hash (32)
//   | outcome (1) | command: len (1) + bytes | error_class: len (1) + bytes | message: len (2) + bytes
//   | argument count (1) | each argument: len (2) + bytes
// invalid_request for a field over its limit (normalise first).
Result<std::vector<std::uint8_t>> encode_audit_entry(const AuditEntry& entry);
// StoreErrc::corrupt for anything encode would not have produced.
Result<AuditEntry> decode_audit_entry(std::span<const std::uint8_t> bytes);

// hash_n = SHA-256(hash_{n-1} || encode(entry n)); hash_0 is all zero.
Result<AuditHash> audit_chain_hash(const AuditHash& previous, std::span<const std::uint8_t> encoded_entry);

// Lower-case hex of a hash (64 characters).
std::string audit_hash_hex(const AuditHash& hash);
// One line for `audit show`:
//   "42 2026-11-23T03:29:00Z uid=0 user add alice@example.org --password-stdin: ok"
//   "43 2026-11-23T03:30:12Z uid=1000 domain add x.example --org acme: error not_found: no organisation acme"
// Arguments with spaces, quotes, backslashes or control characters are quoted with C escapes, and
// the message's control characters are escaped, so a stored string cannot forge a line or a field.
std::string format_audit_entry(const AuditEntry& entry);

}  // namespace vmx
