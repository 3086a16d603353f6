// Fuzz target: audit log entries (appliance/audit/entry.h). Arbitrary bytes go to
// decode_audit_entry() as a stored entry; the same bytes, split at NULs, are a command line that
// normalise_audit_entry() prepares for storing. Checks: one entry has one encoding (what decodes
// re-encodes to the same bytes); a normalised entry is within every limit, encodes and decodes to
// itself; redaction is idempotent; `audit show` prints any entry as one line without control bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/audit/entry.h"
#include "core/assert.h"
#include "store/errc.h"

namespace {

using namespace vmx;

void check_line(const AuditEntry& e) {
    const std::string line = format_audit_entry(e);
    VMX_ASSERT(std::none_of(line.begin(), line.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    }));
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    while (true) {
        const std::size_t nul = text.find('\0');
        words.emplace_back(text.substr(0, nul));
        if (nul == std::string_view::npos) return words;
        text.remove_prefix(nul + 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> input(data, size);
    if (const auto decoded = decode_audit_entry(input)) {
        const auto encoded = encode_audit_entry(*decoded);
        VMX_ASSERT(encoded.has_value() && std::equal(encoded->begin(), encoded->end(), input.begin(), input.end()));
        check_line(*decoded);
    } else {
        VMX_ASSERT(decoded.error() == store::StoreErrc::corrupt);
    }

    // The same bytes as a command line: words at NULs, the first one the command.
    std::vector<std::string> words = split_words(std::string_view(reinterpret_cast<const char*>(data), size));
    AuditEntry entry;
    entry.sequence = size;
    entry.time_unix = static_cast<std::int64_t>(size) * 977 - 500000;
    entry.command = words.front();
    words.erase(words.begin());
    entry.arguments = words;
    if (size % 2 == 1)
        entry.result = AuditResult::failure(entry.command, entry.arguments.empty() ? "" : entry.arguments[0]);
    const auto redacted = redact_arguments(entry.arguments);
    VMX_ASSERT(redacted.size() == entry.arguments.size() && redact_arguments(redacted) == redacted);

    const auto normal = normalise_audit_entry(entry);
    if (!normal) {
        VMX_ASSERT(entry.command.empty());
        return 0;
    }
    VMX_ASSERT(normal->arguments.size() <= audit_arguments_max);
    const auto encoded = encode_audit_entry(*normal);
    VMX_ASSERT(encoded.has_value());
    const auto back = decode_audit_entry(*encoded);
    VMX_ASSERT(back.has_value() && *back == *normal);
    check_line(*normal);
    return 0;
}
