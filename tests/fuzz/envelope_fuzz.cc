// Fuzz target: queue envelopes (store/envelope.h). Arbitrary bytes go to decode_envelope(); nothing
// may crash, every accepted input is within the limits, and the encoding is canonical: whatever
// decodes re-encodes to exactly the same bytes (so no two encodings mean one envelope).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/assert.h"
#include "store/envelope.h"
#include "store/errc.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    auto decoded = vmx::store::decode_envelope(input);
    if (!decoded) {
        VMX_ASSERT(decoded.error() == vmx::store::StoreErrc::corrupt);
        return 0;
    }
    VMX_ASSERT(!decoded->recipients.empty() && decoded->recipients.size() <= vmx::store::envelope_recipients_max);
    for (const auto& r : decoded->recipients) VMX_ASSERT(r.address.size() <= vmx::store::envelope_address_bytes_max);
    auto encoded = vmx::store::encode_envelope(*decoded);
    VMX_ASSERT(encoded.has_value());
    VMX_ASSERT(encoded->size() == size && std::equal(encoded->begin(), encoded->end(), input.begin()));
    return 0;
}
