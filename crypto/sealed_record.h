// Envelope encryption of stored values: AES-256-GCM under a fresh data key (DEK) per message or
// record, the DEK wrapped under a key derived from the scope key. A value is a STREAM of one or more
// chunks (sealed_stream.h); a small record is a stream of one chunk (seal/open below). Pure functions;
// any thread may call them. Invariants: open returns plaintext only if every byte is as sealed for
// exactly this identity and key reference, and (streams) only chunks in their sealed order with the
// final one last; rewrap() never touches a body (ciphertexts, tags, chunk nonces).
//
// Record format, version 2 (written today; all integers little-endian). A stream's first chunk is
// its HEAD and carries the wrapped DEK; every further chunk is a CONTINUATION:
//
//   head chunk                                     continuation chunk
//   offset bytes field                             offset bytes field
//        0     2 magic "vx" (0x76 0x78)                 0     2 magic "vx"
//        2     1 format version = 2                     2     1 format version = 2
//        3     1 flags: 0x01 head, 0x02 final           3     1 flags: 0x02 final (0x01 clear)
//        4     8 key_id      \ KeyRef of the scope      4     n ciphertext
//       12     4 key version / key that wraps the DEK 4+n    16 GCM tag
//       16    12 wrap IV (random)
//       28    32 wrapped DEK  \ AES-256-GCM of the DEK
//       60    16 wrap tag     / under the KEK below
//       76     n ciphertext of chunk 0
//     76+n    16 GCM tag
//
//   Any other flag bit, or a continuation with 0x01 set, is bad_record.
//   Chunk i (0 = head) is sealed under the DEK with
//     IV  = i (4, LE) || final (1: 0 or 1) || 7 zero bytes  -- unique per DEK, and the DEK is fresh
//           per stream, so no (key, IV) pair repeats without a random IV
//     AAD = chunk bytes 0..3 (magic, version, flags: head and final) || identity without the key
//           reference: store kind (1) || segment (4) || mailbox (8) || record id (8) || i (4) = 29 bytes
//   KEK = HKDF-SHA256(ikm = scope key, salt = "", info = "vaultmx sealed-record kek v2" || store kind
//         || segment || mailbox || record id || key_id (8) || key version (4)), 32 bytes
//   wrap = AES-256-GCM(KEK, wrap IV, AAD = head bytes 0..2 (magic, version), DEK)
// What this catches: each chunk's tag binds it to the DEK (so to its stream), its index (reordering,
// swapping within a stream) and the identity (moving it to another record); the final flag, in the
// AAD and the IV, makes a stream cut at a chunk boundary detectable (the reader never saw a final
// chunk) and a chunk appended after the final one impossible to forge. The key reference is bound
// through the KEK, as in v1 (a rewrap changes it and must leave the chunks alone): editing it, using
// another scope key or moving the wrap to another identity fails the wrap tag (2^-128); a wrap from an
// older seal of the same identity unwraps to another DEK, and the chunk tags then fail. The wrap IV
// is random under a KEK that is specific to one identity and key version, so it repeats only across
// re-seals of the same record (2^-96 per pair).
//
// Record format, version 1 (read, rewrapped and upgraded, no longer written): one chunk only.
//
//        0      2  magic "vx",  2  1  version = 1,  3  1  flags = 0
//        4      8  key_id, 12  4  key version
//       16     40  wrapped DEK: AES-KW (RFC 3394) under the KEK below
//       56     12  IV (random)
//       68      n  ciphertext,  68+n  16  GCM tag
//   AAD   = bytes 0..3 || store kind (1) || segment (4) || mailbox (8) || record id (8)  = 25 bytes
//   KEK   = HKDF-SHA256(scope key, "", "vaultmx sealed-record kek v1" || AAD || key_id || key version)
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"

namespace vmx::crypto {

enum class StoreKind : std::uint8_t { mail = 1, temp, smtp_in, smtp_out, directory, keys, audit, secrets, log, backup };

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
inline constexpr std::uint8_t sealed_record_format_version = 2;  // what seal() writes
inline constexpr std::size_t sealed_header_bytes = 76;            // a head chunk, up to its ciphertext
inline constexpr std::size_t sealed_overhead_bytes = 92;          // head + tag: record = plaintext + 92
inline constexpr std::size_t sealed_chunk_overhead_bytes = 20;    // a continuation: prefix + tag
inline constexpr std::size_t sealed_v1_header_bytes = 68;
inline constexpr std::size_t sealed_v1_overhead_bytes = 84;

// What a record is, from its first four bytes (no key needed, nothing authenticated yet).
struct RecordShape {
    std::uint8_t version = 0;
    bool head = false;   // carries a wrapped key (every v1 record; a v2 stream's first chunk)
    bool final = false;  // the last chunk of its stream (every v1 record)
};
// bad_record (too short, wrong magic, unknown flags) or unsupported_version.
Result<RecordShape> peek_shape(std::span<const std::uint8_t> record);

// A stream of one chunk (a v2 head that is also final) sealing `plaintext` for `identity` under
// `scope_key`, which must be the key identity.key names. Fails only if the random source fails
// (random_failed) or the plaintext is over the GCM limit (invalid_argument).
Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& identity, std::span<const std::uint8_t> plaintext);

// The plaintext of a one-chunk record (v2 head and final, or v1), or: bad_record (too short, wrong
// magic, unknown flags, or a v2 chunk that is not a whole stream: opening a stream's head alone would
// be a truncation), unsupported_version, wrong_identity (the header names another key than
// expected.key), authentication_failed (another identity, another scope key, any modified byte).
Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& expected, std::span<const std::uint8_t> record);

// A head record (v1, or a v2 head of any stream) with its DEK unwrapped under old_key (which must be
// expected_old.key's) and wrapped under new_key for new_ref. Only the key reference and the wrap
// change (v2: with a fresh wrap IV); the prefix and every chunk stay as they are, so a stream's
// continuations need nothing. Errors as open(); a continuation is bad_record. The body is not read.
Result<std::vector<std::uint8_t>> rewrap(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                         std::span<const std::uint8_t, sealed_scope_key_bytes> new_key, KeyRef new_ref,
                                         const RecordIdentity& expected_old, std::span<const std::uint8_t> record);

// The key a head record needs (no secret needed). Errors as peek_shape; a continuation (which names
// no key: its stream's head does) is bad_record. Unauthenticated until open() succeeds with it.
Result<KeyRef> peek_key(std::span<const std::uint8_t> record);

}  // namespace vmx::crypto
