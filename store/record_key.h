// How sealed values are addressed in LMDB. Every value that holds customer data is stored under a
// key that carries no customer data in the clear: (owner, record) as two big-endian u64 (so a
// cursor walks one owner's records in order), optionally followed by a short suffix for indexes.
// The same two numbers name the record in its seal: RecordIdentity{kind, segment, owner, record}.
// `record` packs an object id and the part of the object: (object << 4) | part, so a message's
// body and its metadata are sealed under different identities and cannot be swapped. The rewrap
// job relies on this: for any sealed value it can rebuild the identity from the key alone.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/sealed_record.h"

namespace vmx::store {

inline constexpr std::size_t record_key_bytes = 16;
inline constexpr unsigned record_part_bits = 4;

using RecordKeyBytes = std::array<std::uint8_t, record_key_bytes>;

struct RecordKey {
    std::uint64_t owner = 0;   // mailbox (user id), queue (0), or temp owner
    std::uint64_t record = 0;  // (object id << 4) | part
};

constexpr std::uint64_t record_of(std::uint64_t object, std::uint8_t part) noexcept {
    return (object << record_part_bits) | (part & ((1u << record_part_bits) - 1u));
}
constexpr std::uint64_t object_of(std::uint64_t record) noexcept { return record >> record_part_bits; }
constexpr std::uint8_t part_of(std::uint64_t record) noexcept {
    return static_cast<std::uint8_t>(record & ((1u << record_part_bits) - 1u));
}

inline RecordKeyBytes encode_record_key(const RecordKey& k) noexcept {
    RecordKeyBytes out{};
    for (std::size_t i = 0; i < 8; ++i) {
        out[i] = static_cast<std::uint8_t>(k.owner >> (56 - 8 * i));
        out[8 + i] = static_cast<std::uint8_t>(k.record >> (56 - 8 * i));
    }
    return out;
}

// The first record_key_bytes of an LMDB key; nullopt when it is shorter.
inline std::optional<RecordKey> decode_record_key(std::span<const std::uint8_t> bytes) noexcept {
    if (bytes.size() < record_key_bytes) return std::nullopt;
    RecordKey k;
    for (std::size_t i = 0; i < 8; ++i) {
        k.owner = k.owner << 8 | bytes[i];
        k.record = k.record << 8 | bytes[8 + i];
    }
    return k;
}

inline crypto::RecordIdentity identity_of(crypto::StoreKind kind, std::uint32_t segment, const RecordKey& k) noexcept {
    crypto::RecordIdentity id;
    id.store = kind;
    id.segment = segment;
    id.mailbox = k.owner;
    id.record_id = k.record;
    return id;
}

}  // namespace vmx::store
