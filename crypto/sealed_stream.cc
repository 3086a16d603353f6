// Format version 2 (sealed_record.h): a fresh DEK per stream, wrapped once with AES-256-GCM under a
// per-identity KEK; chunk i under the DEK with an IV made of i and the final flag. The DEK lives only
// as the sealer's or opener's expanded key (wiped when it dies) and briefly in wiped stack arrays.
#include "crypto/sealed_stream.h"

#include <array>
#include <cstring>
#include <string_view>

#include "crypto/errc.h"
#include "crypto/random.h"
#include "crypto/sealed_format.h"

namespace vmx::crypto {
namespace sealed {
namespace {

constexpr std::string_view kek_v2_label = "vaultmx sealed-record kek v2";
static_assert(head_body_offset == sealed_header_bytes);
static_assert(sealed_header_bytes + gcm_tag_bytes == sealed_overhead_bytes);
static_assert(chunk_body_offset + gcm_tag_bytes == sealed_chunk_overhead_bytes);

Result<void> derive_kek_v2(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                           const RecordIdentity& identity, std::span<std::uint8_t, 32> kek) {
    std::array<std::uint8_t, identity_bytes> bound{};
    put_identity(bound.data(), identity);
    return derive_kek(scope_key, kek_v2_label, bound, identity.key, kek);
}

}  // namespace

Result<void> wrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key, const RecordIdentity& identity,
                      std::span<const std::uint8_t, dek_bytes> dek, std::span<const std::uint8_t, 12> fresh_iv,
                      std::uint8_t* head) {
    const std::span<std::uint8_t, gcm_iv_bytes> wrap_iv(head + wrap_iv_offset, gcm_iv_bytes);
    std::memcpy(wrap_iv.data(), fresh_iv.data(), gcm_iv_bytes);
    StackSecret<32> kek;
    if (auto r = derive_kek_v2(scope_key, identity, kek.span()); !r) return r;
    const AesGcmKey kek_key(kek.view());
    gcm_seal(kek_key, wrap_iv, std::span<const std::uint8_t>(head, wrap_aad_bytes), dek, head + wrapped_offset,
             std::span<std::uint8_t>(head + wrap_tag_offset, gcm_tag_bytes));
    return {};
}

Result<void> unwrap_dek(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                        const RecordIdentity& identity, std::span<const std::uint8_t> head,
                        std::span<std::uint8_t, dek_bytes> dek) {
    StackSecret<32> kek;
    if (auto r = derive_kek_v2(scope_key, identity, kek.span()); !r) return r;
    const AesGcmKey kek_key(kek.view());
    const std::span<const std::uint8_t, gcm_iv_bytes> wrap_iv(head.data() + wrap_iv_offset, gcm_iv_bytes);
    if (auto r = gcm_open(kek_key, wrap_iv, head.first(wrap_aad_bytes), head.subspan(wrapped_offset, dek_bytes),
                          dek.data(), head.subspan(wrap_tag_offset, gcm_tag_bytes));
        !r)
        return fail(CryptoErrc::authentication_failed);
    return {};
}

}  // namespace sealed

namespace {

using namespace sealed;

struct ChunkParams {
    std::array<std::uint8_t, gcm_iv_bytes> iv{};
    std::array<std::uint8_t, prefix_bytes + identity_bytes + 4> aad{};
};

// The IV and AAD of chunk `index` whose prefix (magic, version, flags) is `prefix`.
ChunkParams chunk_params(const std::uint8_t* prefix, const RecordIdentity& identity, std::uint64_t index) noexcept {
    ChunkParams p;
    put_le(p.iv.data(), index, 4);
    p.iv[4] = (prefix[flags_offset] & flag_final) != 0 ? 1 : 0;
    std::memcpy(p.aad.data(), prefix, prefix_bytes);
    put_identity(p.aad.data() + prefix_bytes, identity);
    put_le(p.aad.data() + prefix_bytes + identity_bytes, index, 4);
    return p;
}

}  // namespace

Result<StreamSealer> StreamSealer::begin(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                         const RecordIdentity& identity) {
    StackSecret<dek_bytes + gcm_iv_bytes> fresh;  // the DEK and the wrap IV, in one draw
    if (auto r = random_bytes(fresh.span()); !r) return fail(r.error());
    const std::span<const std::uint8_t, dek_bytes> dek = fresh.view().first<dek_bytes>();
    const std::span<const std::uint8_t, gcm_iv_bytes> wrap_iv = fresh.view().last<gcm_iv_bytes>();
    StreamSealer sealer(identity, dek);
    // The head's bytes 0..2 are the same for every v2 record, so the wrap can be made now; its
    // fields are copied into the head when the first chunk is sealed.
    std::array<std::uint8_t, sealed_header_bytes> head{};
    head[0] = magic_0;
    head[1] = magic_1;
    head[version_offset] = sealed_record_format_version;
    put_key_ref(head.data(), identity.key);
    if (auto r = wrap_dek(scope_key, identity, dek, wrap_iv, head.data()); !r) return fail(r.error());
    std::memcpy(sealer.head_fields_.data(), head.data() + key_id_offset, sealer.head_fields_.size());
    return sealer;
}

Result<std::vector<std::uint8_t>> StreamSealer::seal(std::span<const std::uint8_t> plaintext, bool final) {
    return seal(plaintext, {}, final);
}

Result<std::vector<std::uint8_t>> StreamSealer::seal(std::span<const std::uint8_t> first,
                                                     std::span<const std::uint8_t> second, bool final) {
    const std::uint64_t bytes = std::uint64_t{first.size()} + second.size();
    if (finished_ || next_ >= stream_chunks_max || bytes > gcm_plaintext_bytes_max)
        return fail(CryptoErrc::invalid_argument);
    const bool head = next_ == 0;
    const std::size_t body_offset = head ? head_body_offset : chunk_body_offset;
    std::vector<std::uint8_t> record(body_offset + bytes + gcm_tag_bytes);
    record[0] = magic_0;
    record[1] = magic_1;
    record[version_offset] = sealed_record_format_version;
    record[flags_offset] = static_cast<std::uint8_t>((head ? flag_head : 0) | (final ? flag_final : 0));
    if (head) std::memcpy(record.data() + key_id_offset, head_fields_.data(), head_fields_.size());
    const ChunkParams p = chunk_params(record.data(), identity_, next_);
    gcm_seal_two(key_, p.iv, p.aad, first, second, record.data() + body_offset,
                 std::span<std::uint8_t>(record).last(gcm_tag_bytes));
    ++next_;
    finished_ = final;
    return record;
}

Result<StreamOpener> StreamOpener::begin(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                         const RecordIdentity& expected, std::span<const std::uint8_t> head) {
    auto shape = peek_shape(head);
    if (!shape) return fail(shape.error());
    if (shape->version != 2 || !shape->head) return fail(CryptoErrc::bad_record);
    if (get_key_ref(head.data()) != expected.key) return fail(CryptoErrc::wrong_identity);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_dek(scope_key, expected, head, dek.span()); !r) return fail(r.error());
    return StreamOpener(expected, dek.view());
}

Result<std::vector<std::uint8_t>> StreamOpener::open(std::span<const std::uint8_t> record) {
    auto shape = peek_shape(record);
    if (!shape) return fail(shape.error());
    const bool head = next_ == 0;
    if (finished_ || shape->version != 2 || shape->head != head) return fail(CryptoErrc::bad_record);
    const std::size_t body_offset = head ? head_body_offset : chunk_body_offset;
    const auto body = record.subspan(body_offset, record.size() - body_offset - gcm_tag_bytes);
    std::vector<std::uint8_t> plaintext(body.size());
    const ChunkParams p = chunk_params(record.data(), identity_, next_);
    if (auto r = gcm_open(key_, p.iv, p.aad, body, plaintext.data(), record.last(gcm_tag_bytes)); !r)
        return fail(r.error());
    ++next_;
    finished_ = shape->final;
    return plaintext;
}

}  // namespace vmx::crypto
