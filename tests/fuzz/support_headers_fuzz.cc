// Fuzz target: what the support view reads from outside (`vaultmx support mailbox`): the header
// fields of a stored message (appliance/mailstore/support_headers.h), RFC 5322 dates, and support
// reveal grants as the directory stores them (appliance/directory/support_grants.h). The first
// byte picks the limits (section 1 to 4096 bytes, a value 1 to 256); the rest is the input.
// Checks: every value is within its limit, display-safe, trimmed, with no run of spaces; nothing
// past the section limit changes the result; a date is within the years a date may name; an
// accepted grant has a valid reason and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "appliance/common/display_text.h"
#include "appliance/directory/support_grants.h"
#include "appliance/mailstore/support_headers.h"
#include "core/assert.h"

namespace {

using namespace vmx;

constexpr std::int64_t earliest_unix = -2'208'988'800 - 86'400;   // 1900-01-01, a day's zone earlier
constexpr std::int64_t latest_unix = 253'402'300'800 + 86'400;    // 10000-01-01, a day's zone later

void check_value(const std::optional<std::string>& value, std::size_t bytes_max) {
    if (!value) return;
    VMX_ASSERT(value->size() <= bytes_max);
    VMX_ASSERT(is_display_safe(*value));
    VMX_ASSERT(value->empty() || (value->front() != ' ' && value->back() != ' '));
    VMX_ASSERT(value->find("  ") == std::string::npos);
}

bool same(const SupportHeaders& a, const SupportHeaders& b) {
    return a.from == b.from && a.subject == b.subject && a.date_unix == b.date_unix &&
           a.section_complete == b.section_complete;
}

void check_grant(std::span<const std::uint8_t> bytes) {
    const auto grant = decode_support_grant(bytes, 5);
    if (!grant) return;
    VMX_ASSERT(grant->user_id == 5 && is_support_reason(grant->reason) && grant->granted_unix <= grant->expires_unix);
    const auto encoded = encode_support_grant(*grant);
    VMX_ASSERT(std::equal(encoded.begin(), encoded.end(), bytes.begin(), bytes.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    SupportHeaderLimits limits;
    limits.section_bytes_max = 1 + static_cast<std::size_t>(data[0]) * 16;
    limits.value_bytes_max = 1 + static_cast<std::size_t>(data[0]);
    const SupportHeaders h = read_support_headers(input, limits);
    check_value(h.from, limits.value_bytes_max);
    check_value(h.subject, limits.value_bytes_max);
    if (h.date_unix) VMX_ASSERT(*h.date_unix >= earliest_unix && *h.date_unix <= latest_unix);
    if (input.size() > limits.section_bytes_max) {
        const std::string other = std::string(input.substr(0, limits.section_bytes_max)) + "\r\nSubject: past\r\n\r\n";
        VMX_ASSERT(same(h, read_support_headers(other, limits)));
    }
    if (auto date = parse_message_date(input)) VMX_ASSERT(*date >= earliest_unix && *date <= latest_unix);
    check_grant(std::span<const std::uint8_t>(data + 1, size - 1));
    return 0;
}
