// Fuzz target: the header scanner and the mailbox-list parser. The input's first byte picks small
// limits (so that every limit is reached); the rest is the message, and also, alone, a From: value.
// Checks: the section stays inside the input and its limit, address counts stay within max, every
// address has a non-empty side on each side of an "@" and no control byte but tab, and a second
// scan gives the same answer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/smtp/address_list.h"
#include "net/smtp/headers.h"

namespace {

using namespace vmx::smtp;

void check_address(const std::string& a) {
    const std::size_t at = a.rfind('@');
    VMX_ASSERT(at != std::string::npos && at > 0 && at + 1 < a.size());
    for (const char c : a) {  // a tab may stay inside a quoted local part; no other control byte
        VMX_ASSERT(c == '\t' || (static_cast<unsigned char>(c) >= 0x20 && c != '\x7f'));
    }
    for (const char c : a.substr(at + 1)) VMX_ASSERT(c < 'A' || c > 'Z');  // domains lower-cased
}

void check_summary(const HeaderSummary& s, std::string_view message, const HeaderLimits& limits) {
    VMX_ASSERT(s.section_bytes <= message.size());
    VMX_ASSERT(s.section_bytes <= limits.section_bytes_max);
    VMX_ASSERT(s.from_fields + s.sender_fields + s.date_fields + s.message_id_fields + s.received_fields <=
               limits.fields_max);
    VMX_ASSERT(s.from.size() <= limits.addresses_max && s.sender.size() <= limits.addresses_max);
    VMX_ASSERT(s.from.size() <= s.from_fields * limits.addresses_max);
    VMX_ASSERT(s.sender.size() <= s.sender_fields * limits.addresses_max);
    for (const std::string& a : s.from) check_address(a);
    for (const std::string& a : s.sender) check_address(a);
    if (s.problem == HeaderProblem::none && s.section_bytes > 0 && s.section_bytes < message.size()) {
        // A complete section ends with its empty line.
        VMX_ASSERT(message[s.section_bytes - 1] == '\n');
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    const std::string_view message(reinterpret_cast<const char*>(data) + 1, size - 1);

    HeaderLimits limits;
    if (choice & 1) {
        limits.section_bytes_max = 16 + (choice >> 1) * 8;
        limits.fields_max = 1 + (choice >> 4);
        limits.addresses_max = 1 + (choice >> 5);
    }
    const HeaderSummary s = scan_headers(message, limits);
    check_summary(s, message, limits);
    const HeaderSummary again = scan_headers(message, limits);
    VMX_ASSERT(again.from == s.from && again.sender == s.sender && again.section_bytes == s.section_bytes);

    const std::size_t max = 1 + choice % 8;
    if (const auto list = parse_mailbox_list(message, max)) {
        VMX_ASSERT(!list->empty() && list->size() <= max);
        for (const std::string& a : *list) check_address(a);
    }
    return 0;
}
