// Envelope encryption of one stored value: AES-256-GCM under a fresh per-record data key (DEK), the
// DEK wrapped (AES-KW) under a key derived from the scope key. Pure functions; any thread may call
// them. Invariants: open() returns plaintext only if every byte of the record is as sealed for
// exactly this identity and key reference; rewrap() never touches the body (IV, ciphertext, tag).
//
// Record format, version 1 (all integers little-endian):
//
//   offset  bytes  field
//        0      2  magic "vx" (0x76 0x78)
//        2      1  format version = 1
//        3      1  flags = 0 (reserved; a record with any flag set is rejected as bad_record)
//        4      8  key_id       \ KeyRef: which scope key (and version) wraps the DEK. Not secret:
//       12      4  key version  /  peek_key() reads it to find the key
//       16     40  wrapped DEK: AES-KW (RFC 3394) of a fresh random 256-bit DEK under the KEK below
//       56     12  IV (random; the DEK is fresh per record, so the (key, IV) pair is unique anyway)
//       68      n  ciphertext (AES-256-GCM under the DEK)
//     68+n     16  GCM tag
//
// What binds what:
//   AAD   = bytes 0..3 (magic, version, flags) || identity without the key reference:
//           store kind (1) || segment (4) || mailbox (8) || record id (8)          = 25 bytes
//   KEK   = HKDF-SHA256(ikm = scope key, salt = "", info = "vaultmx sealed-record kek v1" || AAD
//           || key_id (8) || key version (4)), 32 bytes
// The GCM tag binds the body to the DEK, the format and the identity. The key reference cannot be in
// the AAD, because a rewrap changes it and must leave the body (and so the tag) untouched; it is
// bound through the KEK instead: the DEK only unwraps under the KEK derived for exactly this
// (scope key, key_id, version, identity), so editing the key reference in the header, using another
// scope key, or moving the wrapped DEK to another record makes the KW integrity check fail (2^-64).
// A swapped wrapped DEK from a record with the same identity (an older seal of the same record id)
// unwraps, but to the other record's DEK, and the GCM tag then fails (2^-128). Deriving the KEK per
// record also keeps the scope key itself from being used as a raw AES key, and means that a leaked
// DEK lets no one forge a record for any other identity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"

namespace vmx::crypto {

enum class StoreKind : std::uint8_t { mail = 1, temp, smtp_in, smtp_out, directory, keys, audit, secrets };

// Which scope key (and version) wraps a record's data key.
struct KeyRef {
    std::uint64_t key_id = 0;
    std::uint32_t version = 0;
    friend bool operator==(const KeyRef&, const KeyRef&) = default;
};

struct RecordIdentity {
    StoreKind store = StoreKind::mail;
    std::uint32_t segment = 0;
    std::uint64_t mailbox = 0;
    std::uint64_t record_id = 0;
    KeyRef key;
};

inline constexpr std::size_t sealed_scope_key_bytes = 32;
inline constexpr std::uint8_t sealed_record_format_version = 1;
inline constexpr std::size_t sealed_header_bytes = 68;    // up to and including the IV
inline constexpr std::size_t sealed_overhead_bytes = 84;  // header + tag: record = plaintext + 84

// Seals `plaintext` for `identity`, under `scope_key`, which must be the key identity.key names.
// Fails only if the random source fails (random_failed) or the plaintext is over the GCM limit
// (invalid_argument).
Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& identity, std::span<const std::uint8_t> plaintext);

// The plaintext, or: bad_record (too short, wrong magic, flags set), unsupported_version (a format
// version this build cannot read), wrong_identity (the header names another key than expected.key),
// authentication_failed (anything else: another identity, another scope key, any modified byte).
Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& expected, std::span<const std::uint8_t> record);

// The record with its DEK unwrapped under old_key (which must be expected_old.key's) and wrapped under
// new_key for new_ref; bytes 0..3 and the body (IV, ciphertext, tag) are copied unchanged. Errors as
// open(). The DEK's wrapping is authenticated here; the body is not read (open() authenticates it).
Result<std::vector<std::uint8_t>> rewrap(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                         std::span<const std::uint8_t, sealed_scope_key_bytes> new_key, KeyRef new_ref,
                                         const RecordIdentity& expected_old, std::span<const std::uint8_t> record);

// The key a record needs, from its header (no secret needed). bad_record / unsupported_version as
// open(); the reference is unauthenticated until open() succeeds with it.
Result<KeyRef> peek_key(std::span<const std::uint8_t> record);

}  // namespace vmx::crypto
