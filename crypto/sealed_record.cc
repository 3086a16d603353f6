// Sealed records: the formats and the reasoning are in sealed_record.h. A one-chunk record is a v2
// stream of one (sealed_stream.cc); version 1 is read and rewrapped by sealed_record_v1.cc.
#include "crypto/sealed_record.h"

#include <array>

#include "crypto/aead.h"
#include "crypto/errc.h"
#include "crypto/random.h"
#include "crypto/sealed_format.h"
#include "crypto/sealed_stream.h"

namespace vmx::crypto {

using namespace sealed;

Result<RecordShape> peek_shape(std::span<const std::uint8_t> record) {
    if (record.size() <= version_offset || record[0] != magic_0 || record[1] != magic_1)
        return fail(CryptoErrc::bad_record);
    const std::uint8_t version = record[version_offset];
    if (version != 1 && version != 2) return fail(CryptoErrc::unsupported_version);
    if (record.size() <= flags_offset) return fail(CryptoErrc::bad_record);
    const std::uint8_t flags = record[flags_offset];
    if (version == 1) {
        if (flags != 0 || record.size() < sealed_v1_overhead_bytes) return fail(CryptoErrc::bad_record);
        return RecordShape{1, true, true};
    }
    const bool head = (flags & flag_head) != 0;
    if ((flags & ~flags_known) != 0 ||
        record.size() < (head ? sealed_overhead_bytes : sealed_chunk_overhead_bytes))
        return fail(CryptoErrc::bad_record);
    return RecordShape{2, head, (flags & flag_final) != 0};
}

Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& identity, std::span<const std::uint8_t> plaintext) {
    auto sealer = StreamSealer::begin(scope_key, identity);
    if (!sealer) return fail(sealer.error());
    return sealer->seal(plaintext, true);
}

Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                       const RecordIdentity& expected, std::span<const std::uint8_t> record) {
    auto shape = peek_shape(record);
    if (!shape) return fail(shape.error());
    if (shape->version == 1) return open_v1(scope_key, expected, record);
    if (!shape->head || !shape->final) return fail(CryptoErrc::bad_record);
    auto opener = StreamOpener::begin(scope_key, expected, record);
    if (!opener) return fail(opener.error());
    return opener->open(record);
}

Result<std::vector<std::uint8_t>> rewrap(std::span<const std::uint8_t, sealed_scope_key_bytes> old_key,
                                         std::span<const std::uint8_t, sealed_scope_key_bytes> new_key, KeyRef new_ref,
                                         const RecordIdentity& expected_old, std::span<const std::uint8_t> record) {
    auto shape = peek_shape(record);
    if (!shape) return fail(shape.error());
    if (shape->version == 1) return rewrap_v1(old_key, new_key, new_ref, expected_old, record);
    if (!shape->head) return fail(CryptoErrc::bad_record);
    if (get_key_ref(record.data()) != expected_old.key) return fail(CryptoErrc::wrong_identity);
    StackSecret<dek_bytes> dek;
    if (auto r = unwrap_dek(old_key, expected_old, record, dek.span()); !r) return fail(r.error());

    std::vector<std::uint8_t> out(record.begin(), record.end());  // prefix and chunk 0 stay as they are
    put_key_ref(out.data(), new_ref);
    RecordIdentity target = expected_old;
    target.key = new_ref;
    std::array<std::uint8_t, gcm_iv_bytes> wrap_iv{};  // not secret: it is stored in the clear
    if (auto r = random_bytes(wrap_iv); !r) return fail(r.error());
    if (auto r = wrap_dek(new_key, target, dek.view(), wrap_iv, out.data()); !r) return fail(r.error());
    return out;
}

Result<KeyRef> peek_key(std::span<const std::uint8_t> record) {
    auto shape = peek_shape(record);
    if (!shape) return fail(shape.error());
    if (!shape->head) return fail(CryptoErrc::bad_record);
    return get_key_ref(record.data());
}

}  // namespace vmx::crypto
