// Tests only: writes a format version 1 record (sealed_record.h) from the documented layout with the
// crypto primitives, since the product no longer writes version 1. Pinned against the golden v1
// record in sealed_record_test.cc, so tests can make v1 records under any key to prove they still
// open, rewrap and upgrade.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"
#include "crypto/sealed_record.h"

namespace vmx::testing {

inline void put_le_bytes(std::uint8_t* out, std::uint64_t value, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

inline std::vector<std::uint8_t> seal_v1(std::span<const std::uint8_t, 32> scope_key,
                                         const crypto::RecordIdentity& id, std::span<const std::uint8_t> plaintext,
                                         std::span<const std::uint8_t, 32> dek, std::span<const std::uint8_t, 12> iv) {
    std::vector<std::uint8_t> record(crypto::sealed_v1_overhead_bytes + plaintext.size());
    record[0] = 'v';
    record[1] = 'x';
    record[2] = 1;
    record[3] = 0;
    put_le_bytes(&record[4], id.key.key_id, 8);
    put_le_bytes(&record[12], id.key.version, 4);
    std::array<std::uint8_t, 25> aad{};
    std::memcpy(aad.data(), record.data(), 4);
    aad[4] = static_cast<std::uint8_t>(id.store);
    put_le_bytes(&aad[5], id.segment, 4);
    put_le_bytes(&aad[9], id.mailbox, 8);
    put_le_bytes(&aad[17], id.record_id, 8);
    constexpr std::string_view label = "vaultmx sealed-record kek v1";
    std::array<std::uint8_t, label.size() + 25 + 12> info{};
    std::memcpy(info.data(), label.data(), label.size());
    std::memcpy(info.data() + label.size(), aad.data(), aad.size());
    put_le_bytes(&info[label.size() + 25], id.key.key_id, 8);
    put_le_bytes(&info[label.size() + 33], id.key.version, 4);
    std::array<std::uint8_t, 32> kek{};
    if (!crypto::hkdf_sha256_into(scope_key, {}, info, kek)) return {};
    if (!crypto::key_wrap(kek, dek, std::span<std::uint8_t>(record).subspan(16, 40))) return {};
    std::memcpy(&record[56], iv.data(), 12);
    const crypto::AesGcmKey key(dek);
    crypto::gcm_seal(key, iv, aad, plaintext, record.data() + 68, std::span<std::uint8_t>(record).last(16));
    return record;
}

}  // namespace vmx::testing
