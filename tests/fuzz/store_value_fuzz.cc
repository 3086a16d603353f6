// Fuzz target: the codec form of stored values (store/codec.h: a header byte, then raw bytes or a
// deflate stream with its length) and record keys (store/record_key.h). Arbitrary bytes go to
// decode_value() as an opened value; they are also encoded as a plaintext. Checks: a deflate form
// inflates to exactly its recorded length, never over the cap or the 1032:1 deflate bound (no
// decompression bomb); a raw form is its bytes; whatever encode_value() makes (compressed or not)
// is never larger than the raw form and decodes to the plaintext; record keys round-trip.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/assert.h"
#include "store/codec.h"
#include "store/errc.h"
#include "store/record_key.h"

namespace {

using namespace vmx::store;

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void round_trip(std::span<const std::uint8_t> plaintext) {
    for (const Compress c : {Compress::never, Compress::if_smaller}) {
        const auto encoded = encode_value(plaintext, c);
        VMX_ASSERT(encoded.has_value() && encoded->size() <= plaintext.size() + codec_raw_header_bytes);
        if (c == Compress::never) VMX_ASSERT(encoded->front() == codec_raw);
        const auto decoded = decode_value(*encoded);
        VMX_ASSERT(decoded.has_value() && same(*decoded, plaintext));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const auto decoded = decode_value(input);
    if (decoded) {
        VMX_ASSERT(decoded->size() <= codec_value_bytes_max);
        if (input[0] == codec_raw) {
            VMX_ASSERT(same(*decoded, input.subspan(codec_raw_header_bytes)));
        } else {
            VMX_ASSERT(input[0] == codec_deflate && size > codec_deflate_header_bytes);
            const std::uint32_t length = input[1] | input[2] << 8 | input[3] << 16 | std::uint32_t{input[4]} << 24;
            VMX_ASSERT(decoded->size() == length && length > 0);
            VMX_ASSERT(length <= (size - codec_deflate_header_bytes) * 1032);
        }
        round_trip(*decoded);
    } else {
        VMX_ASSERT(decoded.error() == StoreErrc::corrupt);
        VMX_ASSERT(size == 0 || input[0] != codec_raw);
    }
    round_trip(input);

    if (const auto key = decode_record_key(input)) {
        VMX_ASSERT(size >= record_key_bytes);
        const RecordKeyBytes again = encode_record_key(*key);
        VMX_ASSERT(same(again, input.first(record_key_bytes)));
        VMX_ASSERT(record_of(object_of(key->record), part_of(key->record)) == key->record);
    } else {
        VMX_ASSERT(size < record_key_bytes);
    }
    return 0;
}
