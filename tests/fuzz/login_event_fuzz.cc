// Fuzz target: login history entries (appliance/directory/login_history.h) as they are stored.
// Arbitrary bytes go to decode_login_event(). Checks: an accepted entry has a known result, reason
// and method, text fields within login_field_bytes_max, and re-encodes to the same bytes (one
// encoding per entry, and what `user logins` prints is what was written: cleaned, one line).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "appliance/directory/login_history.h"
#include "core/assert.h"

namespace {

void check_text(const std::string& s) {
    VMX_ASSERT(s.size() <= vmx::login_field_bytes_max);
    VMX_ASSERT(std::none_of(s.begin(), s.end(),
                            [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    const auto event = vmx::decode_login_event(input, 42);
    if (!event) return 0;
    VMX_ASSERT(event->user_id == 42);
    VMX_ASSERT(vmx::name_of(event->reason) != "unknown");
    check_text(event->protocol);
    check_text(event->client_ip);
    check_text(event->tls_version);
    VMX_ASSERT(event->note.size() <= vmx::login_note_bytes_max);
    const auto encoded = vmx::encode_login_event(*event);
    VMX_ASSERT(std::equal(encoded.begin(), encoded.end(), input.begin(), input.end()));
    return 0;
}
