// Sealed records: the format and the reasoning are in sealed_record.h. Every secret here (DEK, KEK)
// lives in a stack array that is wiped when it goes out of scope, on success and on failure; no
// per-record SecretBytes, because the arena takes a lock and records are the hot path.
#include "crypto/sealed_record.h"

#include <array>
#include <cstring>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

constexpr std::uint8_t magic_0 = 0x76;  // 'v'
constexpr std::uint8_t magic_1 = 0x78;  // 'x'
constexpr std::size_t prefix_bytes = 4;  // magic, version, flags: never changed by a rewrap
constexpr std::size_t version_offset = 2;
constexpr std::size_t flags_offset = 3;
constexpr std::size_t key_id_offset = 4;
constexpr std::size_t key_version_offset = 12;
constexpr std::size_t wrapped_offset = 16;
constexpr std::size_t dek_bytes = 32;
constexpr std::size_t wrapped_bytes = dek_bytes + key_wrap_overhead_bytes;
constexpr std::size_t iv_offset = wrapped_offset + wrapped_bytes;
constexpr std::size_t body_offset = iv_offset + gcm_iv_bytes;
static_assert(iv_offset == 56 && body_offset == sealed_header_bytes);
static_assert(sealed_header_bytes + gcm_tag_bytes == sealed_overhead_bytes);

constexpr std::size_t aad_bytes = prefix_bytes + 1 + 4 + 8 + 8;
using Aad = std::array<std::uint8_t, aad_bytes>;
constexpr std::string_view kek_label = "vaultmx sealed-record kek v1";

// A fixed-size secret on the stack, wiped when it goes out of scope.
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

void put_le(std::uint8_t* out, std::uint64_t value, std::size_t bytes) noexcept {
    for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t get_le(const std::uint8_t* in, std::size_t bytes) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) value |= std::uint64_t{in[i]} << (8 * i);
    return value;
}

void put_key_ref(std::uint8_t* record, KeyRef ref) noexcept {
    put_le(record + key_id_offset, ref.key_id, 8);
    put_le(record + key_version_offset, ref.version, 4);
}

// The record's prefix bytes and the identity without its key reference (see sealed_record.h).
Aad make_aad(std::span<const std::uint8_t> record_prefix, const RecordIdentity& identity) noexcept {
    Aad aad{};
    std::memcpy(aad.data(), record_prefix.data(), prefix_bytes);
    aad[prefix_bytes] = static_cast<std::uint8_t>(identity.store);
    put_le(aad.data() + prefix_bytes + 1, identity.segment, 4);
    put_le(aad.data() + prefix_bytes + 5, identity.mailbox, 8);
    put_le(aad.data() + prefix_bytes + 13, identity.record_id, 8);
    return aad;
}

// KEK = HKDF-SHA256(scope key, "", label || AAD || key_id || key version).
Result<void> derive_kek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const Aad& aad, KeyRef ref,
                        std::span<std::uint8_t, key_wrap_kek_bytes> kek) {
    std::array<std::uint8_t, kek_label.size() + aad_bytes + 12> info{};
    std::memcpy(info.data(), kek_label.data(), kek_label.size());
    std::memcpy(info.data() + kek_label.size(), aad.data(), aad_bytes);
    put_le(info.data() + kek_label.size() + aad_bytes, ref.key_id, 8);
    put_le(info.data() + kek_label.size() + aad_bytes + 8, ref.version, 4);
    return hkdf_sha256_cached_into(scope_key, info, kek);
}

// Checks what can be checked without a key; returns the header's key reference.
Result<KeyRef> parse_header(std::span<const std::uint8_t> record) {
    if (record.size() <= version_offset || record[0] != magic_0 || record[1] != magic_1)
        return fail(CryptoErrc::bad_record);
    if (record[version_offset] != sealed_record_format_version) return fail(CryptoErrc::unsupported_version);
    if (record.size() < sealed_overhead_bytes || record[flags_offset] != 0) return fail(CryptoErrc::bad_record);
    return KeyRef{get_le(record.data() + key_id_offset, 8),
                  static_cast<std::uint32_t>(get_le(record.data() + key_version_offset, 4))};
}

// The DEK of a parsed record whose key reference matched, or authentication_failed.
Result<void> unwrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const Aad& aad, KeyRef ref,
                        std::span<const std::uint8_t> record, std::span<std::uint8_t, dek_bytes> dek) {
    StackSecret<key_wrap_kek_bytes> kek;
    if (auto r = derive_kek(scope_key, aad, ref, kek.span()); !r) return r;
    if (auto r = key_unwrap(kek.view(), record.subspan(wrapped_offset, wrapped_bytes), dek); !r)
        return fail(CryptoErrc::authentication_failed);
    return {};
}

Result<void> wrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const Aad& aad, KeyRef ref,
                      std::span<const std::uint8_t, dek_bytes> dek, std::span<std::uint8_t> record) {
    StackSecret<key_wrap_kek_bytes> kek;
    if (auto r = derive_kek(scope_key, aad, ref, kek.span()); !r) return r;
    return key_wrap(kek.view(), dek, record.subspan(wrapped_offset, wrapped_bytes));
}

}  // namespace

Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& identity, std::span<const std::uint8_t> plaintext) {
    if (plaintext.size() > gcm_plaintext_bytes_max) return fail(CryptoErrc::invalid_argument);
    std::vector<std::uint8_t> record(sealed_overhead_bytes + plaintext.size());
    record[0] = magic_0;
    record[1] = magic_1;
    record[version_offset] = sealed_record_format_version;
    record[flags_offset] = 0;
    put_key_ref(record.data(), identity.key);

    StackSecret<dek_bytes + gcm_iv_bytes> fresh;  // DEK then IV, in one getrandom call
    if (auto r = random_bytes(fresh.span()); !r) return fail(r.error());
    const std::span<const std::uint8_t, dek_bytes> dek = fresh.view().first<dek_bytes>();
    const std::span<std::uint8_t, gcm_iv_bytes> iv(record.data() + iv_offset, gcm_iv_bytes);
    std::memcpy(iv.data(), fresh.bytes.data() + dek_bytes, gcm_iv_bytes);

    const Aad aad = make_aad(record, identity);
    if (auto r = wrap_dek(scope_key, aad, identity.key, dek, record); !r) return fail(r.error());
    const AesGcmKey key(dek);
    gcm_seal(key, iv, aad, plaintext, record.data() + body_offset,
             std::span<std::uint8_t>(record).last(gcm_tag_bytes));
    return record;
}

Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& expected, std::span<const std::uint8_t> record) {
    auto ref = parse_header(record);
    if (!ref) return fail(ref.error());
    if (*ref != expected.key) return fail(CryptoErrc::wrong_identity);

    const Aad aad = make_aad(record, expected);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_dek(scope_key, aad, *ref, record, dek.span()); !r) return fail(r.error());

    const auto body = record.subspan(body_offset, record.size() - sealed_overhead_bytes);
    std::vector<std::uint8_t> plaintext(body.size());
    const AesGcmKey key(dek.view());
    const std::span<const std::uint8_t, gcm_iv_bytes> iv(record.data() + iv_offset, gcm_iv_bytes);
    if (auto r = gcm_open(key, iv, aad, body, plaintext.data(), record.last(gcm_tag_bytes)); !r) return fail(r.error());
    return plaintext;
}

Result<std::vector<std::uint8_t>> rewrap(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                         std::span<const std::uint8_t, sealed_scope_key_bytes> new_key, KeyRef new_ref,
                                         const RecordIdentity& expected_old, std::span<const std::uint8_t> record) {
    auto ref = parse_header(record);
    if (!ref) return fail(ref.error());
    if (*ref != expected_old.key) return fail(CryptoErrc::wrong_identity);

    const Aad aad = make_aad(record, expected_old);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_dek(old_key, aad, *ref, record, dek.span()); !r) return fail(r.error());

    std::vector<std::uint8_t> out(record.begin(), record.end());  // prefix and body stay as they are
    put_key_ref(out.data(), new_ref);
    if (auto r = wrap_dek(new_key, aad, new_ref, dek.view(), out); !r) return fail(r.error());
    return out;
}

Result<KeyRef> peek_key(std::span<const std::uint8_t> record) { return parse_header(record); }

}  // namespace vmx::crypto
