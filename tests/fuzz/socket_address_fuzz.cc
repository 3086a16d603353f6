// Fuzz target: listen addresses. Anything that parses prints back to text that parses to the same
// address.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/assert.h"
#include "core/socket_address.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = vmx::parse_socket_address(text);
    if (!parsed) return 0;
    auto again = vmx::parse_socket_address(parsed->to_string());
    VMX_ASSERT(again.has_value());
    VMX_ASSERT(again->length == parsed->length);
    VMX_ASSERT(std::memcmp(&again->storage, &parsed->storage, parsed->length) == 0);
    return 0;
}
