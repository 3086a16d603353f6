// Internal to the sealed-record code (sealed_record.cc, sealed_record_v1.cc, sealed_stream.cc): the
// byte layout both format versions share, the identity encoding and the per-record KEK. The formats
// themselves are documented in sealed_record.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "core/result.h"
#include "crypto/hkdf.h"
#include "crypto/sealed_record.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto::sealed {

inline constexpr std::uint8_t magic_0 = 0x76;  // 'v'
inline constexpr std::uint8_t magic_1 = 0x78;  // 'x'
inline constexpr std::size_t prefix_bytes = 4;  // magic, version, flags: never changed by a rewrap
inline constexpr std::size_t version_offset = 2;
inline constexpr std::size_t flags_offset = 3;
inline constexpr std::size_t key_id_offset = 4;
inline constexpr std::size_t key_version_offset = 12;
inline constexpr std::size_t key_ref_end = 16;
inline constexpr std::size_t dek_bytes = 32;
// store kind (1) || segment (4) || mailbox (8) || record id (8), little-endian
inline constexpr std::size_t identity_bytes = 21;

// A fixed-size secret on the stack, wiped when it goes out of scope (no SecretBytes: its arena takes
// a lock, and records are the hot path).
template <std::size_t N>
struct StackSecret {
    std::array<std::uint8_t, N> bytes{};
    StackSecret() = default;
    StackSecret(const StackSecret&) = delete;
    StackSecret& operator=(const StackSecret&) = delete;
    ~StackSecret() { secure_wipe(bytes); }
    std::span<std::uint8_t, N> span() noexcept { return bytes; }
    std::span<const std::uint8_t, N> view() const noexcept { return bytes; }
};

inline void put_le(std::uint8_t* out, std::uint64_t value, std::size_t bytes) noexcept {
    for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

inline std::uint64_t get_le(const std::uint8_t* in, std::size_t bytes) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) value |= std::uint64_t{in[i]} << (8 * i);
    return value;
}

inline void put_key_ref(std::uint8_t* record, KeyRef ref) noexcept {
    put_le(record + key_id_offset, ref.key_id, 8);
    put_le(record + key_version_offset, ref.version, 4);
}

inline KeyRef get_key_ref(const std::uint8_t* record) noexcept {
    return KeyRef{get_le(record + key_id_offset, 8), static_cast<std::uint32_t>(get_le(record + key_version_offset, 4))};
}

// The identity without its key reference, as it goes into AADs and KEK labels.
inline void put_identity(std::uint8_t* out, const RecordIdentity& identity) noexcept {
    out[0] = static_cast<std::uint8_t>(identity.store);
    put_le(out + 1, identity.segment, 4);
    put_le(out + 5, identity.mailbox, 8);
    put_le(out + 13, identity.record_id, 8);
}

// KEK = HKDF-SHA256(ikm = scope key, salt = "", info = label || bound || key_id (8) || key version (4)).
// `bound` is what the version binds besides the key reference (v1: its AAD; v2: the identity).
template <std::size_t Bound>
Result<void> derive_kek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, std::string_view label,
                        const std::array<std::uint8_t, Bound>& bound, KeyRef ref, std::span<std::uint8_t, 32> kek) {
    std::array<std::uint8_t, 32 + Bound + 12> info{};
    VMX_ASSERT(label.size() <= 32);
    std::memcpy(info.data(), label.data(), label.size());
    std::memcpy(info.data() + label.size(), bound.data(), Bound);
    put_le(info.data() + label.size() + Bound, ref.key_id, 8);
    put_le(info.data() + label.size() + Bound + 8, ref.version, 4);
    return hkdf_sha256_cached_into(scope_key, std::span<const std::uint8_t>(info).first(label.size() + Bound + 12),
                                   kek);
}

// v2's parts (sealed_record.cc). The head's wrap fields and one chunk, for sealed_stream.cc.
inline constexpr std::size_t wrap_iv_offset = key_ref_end;                   // 16
inline constexpr std::size_t wrapped_offset = wrap_iv_offset + 12;           // 28
inline constexpr std::size_t wrap_tag_offset = wrapped_offset + dek_bytes;  // 60
inline constexpr std::size_t head_body_offset = wrap_tag_offset + 16;        // 76
inline constexpr std::size_t chunk_body_offset = prefix_bytes;               // 4
inline constexpr std::uint8_t flag_head = 0x01;
inline constexpr std::uint8_t flag_final = 0x02;
inline constexpr std::uint8_t flags_known = flag_head | flag_final;
inline constexpr std::size_t wrap_aad_bytes = 3;  // magic, version: the flags are bound by chunk 0

// v2: the DEK wrapped for `identity` (with its key reference) under `scope_key` with `wrap_iv` (fresh
// random bytes), into the head's wrap fields (bytes 16..75: wrap IV, wrapped DEK, wrap tag).
Result<void> wrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const RecordIdentity& identity,
                      std::span<const std::uint8_t, dek_bytes> dek, std::span<const std::uint8_t, 12> wrap_iv,
                      std::uint8_t* head);
// v2: the DEK of a head whose key reference is identity.key; authentication_failed otherwise.
Result<void> unwrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                        const RecordIdentity& identity, std::span<const std::uint8_t> head,
                        std::span<std::uint8_t, dek_bytes> dek);

// v1 (sealed_record_v1.cc): open and rewrap, for records peek_shape found to be version 1.
Result<std::vector<std::uint8_t>> open_v1(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                          const RecordIdentity& expected, std::span<const std::uint8_t> record);
Result<std::vector<std::uint8_t>> rewrap_v1(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                            std::span<const std::uint8_t, sealed_scope_key_bytes> new_key,
                                            KeyRef new_ref, const RecordIdentity& expected_old,
                                            std::span<const std::uint8_t> record);

}  // namespace vmx::crypto::sealed
