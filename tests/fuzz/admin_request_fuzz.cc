// Fuzz target: the admin socket's request frames and the directory's stored records. Arbitrary
// bytes go to decode_request() and to each record decoder; nothing may crash, every accepted
// request is within the protocol's limits, re-encodes to the same bytes and passes the daemon's
// row check or is refused with a reason (a request the check lets through has a handler), and
// every accepted record re-encodes to the same bytes (or, from an older version, to the same value).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "appliance/admin/command_registry.h"
#include "appliance/admin/command_table.h"
#include "appliance/admin/protocol.h"
#include "appliance/directory/records.h"
#include "core/assert.h"

namespace {

// An accepted record written at the current version re-encodes to the same bytes (one encoding per
// value); one at an older version re-encodes at the current version to the same value.
template <class T, class Decode>
void round_trip(const std::optional<T>& decoded, std::span<const std::uint8_t> input, Decode decode) {
    if (!decoded) return;
    const auto encoded = vmx::encode(*decoded);
    if (encoded.front() == input.front()) {
        VMX_ASSERT(encoded.size() == input.size() && std::equal(encoded.begin(), encoded.end(), input.begin()));
    } else {
        VMX_ASSERT(input.front() < encoded.front());
        const auto again = decode(encoded);
        VMX_ASSERT(again && *again == *decoded);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    if (auto request = vmx::decode_request(input)) {
        VMX_ASSERT(request->command.size() <= vmx::admin_command_bytes_max);
        VMX_ASSERT(request->fields.size() <= vmx::admin_fields_max);
        VMX_ASSERT(request->secret.size() <= vmx::admin_secret_bytes_max);
        auto frame = vmx::encode_request(*request);
        VMX_ASSERT(frame.has_value());
        VMX_ASSERT(frame->size() == size + 4 && std::equal(frame->begin() + 4, frame->end(), input.begin()));
        if (auto problem = vmx::check_request(*request))
            VMX_ASSERT(!problem->empty());
        else
            VMX_ASSERT(vmx::find_handler(request->command) != nullptr);
    }
    if (auto reply = vmx::decode_reply(input)) VMX_ASSERT(reply->text.size() + 6 == size);
    round_trip(vmx::decode_user(input), input, vmx::decode_user);
    round_trip(vmx::decode_organisation(input), input, vmx::decode_organisation);
    round_trip(vmx::decode_domain(input), input, vmx::decode_domain);
    return 0;
}
