// Format version 1 (sealed_record.h): still read and rewrapped, no longer written. One record, one
// random DEK wrapped with AES-KW, a random IV.
#include <array>
#include <cstring>

#include "crypto/aead.h"
#include "crypto/errc.h"
#include "crypto/key_wrap.h"
#include "crypto/sealed_format.h"

namespace vmx::crypto::sealed {
namespace {

constexpr std::size_t wrapped_v1_offset = key_ref_end;
constexpr std::size_t wrapped_v1_bytes = dek_bytes + key_wrap_overhead_bytes;
constexpr std::size_t iv_v1_offset = wrapped_v1_offset + wrapped_v1_bytes;
constexpr std::size_t body_v1_offset = iv_v1_offset + gcm_iv_bytes;
static_assert(iv_v1_offset == 56 && body_v1_offset == sealed_v1_header_bytes);
static_assert(sealed_v1_header_bytes + gcm_tag_bytes == sealed_v1_overhead_bytes);

constexpr std::size_t aad_v1_bytes = prefix_bytes + identity_bytes;
using AadV1 = std::array<std::uint8_t, aad_v1_bytes>;
constexpr std::string_view kek_v1_label = "vaultmx sealed-record kek v1";

AadV1 make_aad_v1(std::span<const std::uint8_t> record, const RecordIdentity& identity) noexcept {
    AadV1 aad{};
    std::memcpy(aad.data(), record.data(), prefix_bytes);
    put_identity(aad.data() + prefix_bytes, identity);
    return aad;
}

Result<void> unwrap_v1(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const AadV1& aad, KeyRef ref,
                       std::span<const std::uint8_t> record, std::span<std::uint8_t, dek_bytes> dek) {
    StackSecret<key_wrap_kek_bytes> kek;
    if (auto r = derive_kek(scope_key, kek_v1_label, aad, ref, kek.span()); !r) return r;
    if (auto r = key_unwrap(kek.view(), record.subspan(wrapped_v1_offset, wrapped_v1_bytes), dek); !r)
        return fail(CryptoErrc::authentication_failed);
    return {};
}

}  // namespace

Result<std::vector<std::uint8_t>> open_v1(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                          const RecordIdentity& expected, std::span<const std::uint8_t> record) {
    const KeyRef ref = get_key_ref(record.data());
    if (ref != expected.key) return fail(CryptoErrc::wrong_identity);
    const AadV1 aad = make_aad_v1(record, expected);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_v1(scope_key, aad, ref, record, dek.span()); !r) return fail(r.error());

    const auto body = record.subspan(body_v1_offset, record.size() - sealed_v1_overhead_bytes);
    std::vector<std::uint8_t> plaintext(body.size());
    const AesGcmKey key(dek.view());
    const std::span<const std::uint8_t, gcm_iv_bytes> iv(record.data() + iv_v1_offset, gcm_iv_bytes);
    if (auto r = gcm_open(key, iv, aad, body, plaintext.data(), record.last(gcm_tag_bytes)); !r) return fail(r.error());
    return plaintext;
}

Result<std::vector<std::uint8_t>> rewrap_v1(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                            std::span<const std::uint8_t, sealed_scope_key_bytes> new_key,
                                            KeyRef new_ref, const RecordIdentity& expected_old,
                                            std::span<const std::uint8_t> record) {
    const KeyRef ref = get_key_ref(record.data());
    if (ref != expected_old.key) return fail(CryptoErrc::wrong_identity);
    const AadV1 aad = make_aad_v1(record, expected_old);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_v1(old_key, aad, ref, record, dek.span()); !r) return fail(r.error());

    std::vector<std::uint8_t> out(record.begin(), record.end());  // prefix and body stay as they are
    put_key_ref(out.data(), new_ref);
    StackSecret<key_wrap_kek_bytes> kek;
    if (auto r = derive_kek(new_key, kek_v1_label, aad, new_ref, kek.span()); !r) return fail(r.error());
    if (auto r = key_wrap(kek.view(), dek.view(), std::span<std::uint8_t>(out).subspan(wrapped_v1_offset, wrapped_v1_bytes));
        !r)
        return fail(r.error());
    return out;
}

}  // namespace vmx::crypto::sealed
