// RFC 5424 formatting of events (see log_line.h).
#include "appliance/ops/log_line.h"

#include <fmt/format.h>

#include <charconv>

#include "core/log_sink.h"

namespace vmx {
namespace {

constexpr unsigned facility_mail = 2;

unsigned severity_of(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return 7;
        case LogLevel::info: return 6;
        case LogLevel::warn: return 4;
        case LogLevel::error: return 3;
    }
    return 6;
}

// RFC 5424 header fields: PRINTUSASCII (33..126), at least one byte ("-" is NILVALUE), cut to size.
std::string header_field(std::string_view value, std::size_t bytes_max) {
    std::string out;
    for (const char c : value.substr(0, bytes_max)) {
        const auto byte = static_cast<unsigned char>(c);
        out += byte >= 33 && byte <= 126 ? c : '_';
    }
    return out.empty() ? "-" : out;
}

}  // namespace

std::string format_log_line(const LogRecord& record, std::uint64_t sequence, const LogOrigin& origin) {
    std::string_view text(record.text, record.length);
    std::string_view event = "-";
    // log_event writes "event=NAME " first: the name becomes MSGID, the rest MSG.
    if (text.starts_with("event=")) {
        text.remove_prefix(6);
        const std::size_t space = text.find(' ');
        event = text.substr(0, space);
        text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
    }
    std::string line = fmt::format("<{}>1 {} {} {} {} {} [{} seq=\"{}\" shard=\"{}\"]",
                                   facility_mail * 8 + severity_of(record.level), format_log_time(record.time_us),
                                   header_field(origin.hostname, log_hostname_bytes_max),
                                   header_field(origin.app_name, 48), origin.pid,
                                   header_field(event, log_msgid_bytes_max), log_sd_id, sequence, record.shard);
    if (!text.empty()) {
        line += ' ';
        for (const char c : text) line += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    }
    return line;
}

std::optional<LogLineFields> parse_log_line(std::string_view line) {
    // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [vaultmx@32473 seq="N" ...
    std::string_view parts[6];
    std::string_view rest = line;
    for (auto& part : parts) {
        const std::size_t space = rest.find(' ');
        if (space == std::string_view::npos) return std::nullopt;
        part = rest.substr(0, space);
        rest.remove_prefix(space + 1);
    }
    if (!parts[0].starts_with('<') || !parts[0].ends_with(">1")) return std::nullopt;
    const std::string prefix = fmt::format("[{} seq=\"", log_sd_id);
    if (!rest.starts_with(prefix)) return std::nullopt;
    rest.remove_prefix(prefix.size());
    LogLineFields fields;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), fields.sequence);
    if (ec != std::errc() || end == rest.data() || end == rest.data() + rest.size() || *end != '"')
        return std::nullopt;
    fields.timestamp = parts[1];
    fields.msgid = parts[5];
    return fields;
}

}  // namespace vmx
