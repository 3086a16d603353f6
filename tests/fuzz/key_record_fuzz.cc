// Fuzz target: scope key records as the `keys` store holds them (crypto/keyring.h). Arbitrary bytes
// go to decode_key_record(). Checks: nothing may crash; an accepted record has a key id, at most one
// active version, versions in ascending order, a wrapped key of the right size on every version not
// destroyed and none on a destroyed one; and it re-encodes to exactly the same bytes (format 1, or
// format 2 when a version names its wrapping key: one encoding per record).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/assert.h"
#include "crypto/errc.h"
#include "crypto/keyring.h"
#include "crypto/sealed_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vmx::crypto;
    const std::span<const std::uint8_t> input(data, size);
    const auto record = decode_key_record(input);
    if (!record) {
        VMX_ASSERT(record.error() == CryptoErrc::bad_record || record.error() == CryptoErrc::unsupported_version);
        return 0;
    }
    VMX_ASSERT(record->key_id != 0);
    const auto active = std::count_if(record->versions.begin(), record->versions.end(),
                                      [](const KeyVersion& v) { return v.state == KeyState::active; });
    VMX_ASSERT(active <= 1);
    for (std::size_t i = 0; i < record->versions.size(); ++i) {
        const KeyVersion& v = record->versions[i];
        if (i > 0) VMX_ASSERT(record->versions[i - 1].version < v.version);
        // AES key wrap (RFC 3394) adds 8 bytes to the key it wraps.
        VMX_ASSERT(v.wrapped.size() == (v.state == KeyState::destroyed ? 0 : sealed_scope_key_bytes + 8));
    }
    const auto encoded = encode_key_record(*record);
    VMX_ASSERT(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
    return 0;
}
