// What the support view (`vaultmx support mailbox`) shows in place of a sender or a subject: a
// keyed hash, so support can tell that two messages share a sender without learning who it is.
//   key  = HKDF-SHA256(ikm = master key, salt = "", info = "vaultmx support view hash v1"), 32 bytes
//   hash = HMAC-SHA256(key, field (u8: 1 sender, 2 subject) || user id (u64 BE) || normalised value),
//          its first 6 bytes as 12 hex digits
// The field byte keeps a subject from matching a sender of the same text; the user id keeps hashes
// from linking one user's correspondents to another's (they compare within one mailbox only); the
// master key keeps anyone without it from testing guesses. A master key rotation changes every
// hash (they are never stored). Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/secret_bytes.h"

namespace vmx {

enum class SupportField : std::uint8_t { sender = 1, subject = 2 };

inline constexpr std::size_t support_hash_hex_chars = 12;
inline constexpr std::size_t support_hash_key_bytes = 32;

Result<crypto::SecretBytes> support_hash_key(std::span<const std::uint8_t> master_key);

// What is hashed: for a sender, the addr-specs of the From: mailbox-list (RFC 5322 3.4) lower-cased
// and joined by ",", so "Ann <ann@x.test>" and "ann@X.TEST" are one sender; a value that is not a
// mailbox-list, lower-cased as it is. For a subject, the value as read (folds and runs of white
// space are one space already: support_headers.h).
std::string normalised_field(SupportField field, std::string_view value);

// The hash of a field's value as the support view prints it (12 lower-case hex digits).
std::string support_field_hash(std::span<const std::uint8_t> key, SupportField field, std::uint64_t user_id,
                               std::string_view value);

}  // namespace vmx
