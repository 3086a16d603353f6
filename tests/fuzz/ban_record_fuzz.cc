// Fuzz target: ban records (appliance/directory/ban_records.h) as they are stored. Arbitrary bytes
// go to decode_ban_record(). Checks: an accepted record carries the id from its key, an address
// within ban_address_bytes_max, and re-encodes to exactly the same bytes (one encoding per ban).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "appliance/directory/ban_records.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const auto ban = vmx::decode_ban_record(input, 7);
    if (!ban) return 0;
    VMX_ASSERT(ban->id == 7 && ban->address.size() <= vmx::ban_address_bytes_max);
    const auto encoded = vmx::encode_ban_record(*ban);
    VMX_ASSERT(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
    return 0;
}
