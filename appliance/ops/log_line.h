// One event as an RFC 5424 syslog message, the form in which it is kept in the sealed spool, shown
// by `vaultmx logs show` and shipped (RFC 5425 adds only the octet count in front):
//
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [vaultmx@32473 seq="N" shard="S"] MSG
//   <22>1 2026-12-06T10:13:38.123456Z mx1.example.net vaultmxd 4242 smtp.session [vaultmx@32473 seq="17" shard="0"] client=192.0.2.7 messages=1
//
// PRI is facility mail (2) with the level's severity; MSGID is the event name; the structured data
// carries the spool's sequence number (the collector's key for de-duplication) and the shard (-1:
// the control side); MSG is the event's fields as logged. 32473 is the enterprise number RFC 5612
// reserves for documentation: the SD-ID is ours, not registered. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/log.h"

namespace vmx {

inline constexpr std::string_view log_sd_id = "vaultmx@32473";
inline constexpr std::size_t log_hostname_bytes_max = 255;  // RFC 5424 HOSTNAME
inline constexpr std::size_t log_msgid_bytes_max = 32;      // RFC 5424 MSGID

struct LogOrigin {
    std::string hostname;            // [smtp] hostname
    std::string app_name = "vaultmxd";
    std::uint32_t pid = 0;
};

// The message for `record`, numbered `sequence`. A field never breaks the line: CR, LF and other
// control bytes in MSG become spaces; header fields are cut to RFC 5424's printable ASCII and sizes.
std::string format_log_line(const LogRecord& record, std::uint64_t sequence, const LogOrigin& origin);

// The parts `logs show` filters on, from a line format_log_line wrote (nothing for anything else).
struct LogLineFields {
    std::string_view timestamp;  // RFC 3339, as written
    std::string_view msgid;      // the event name
    std::uint64_t sequence = 0;
};
std::optional<LogLineFields> parse_log_line(std::string_view line);

}  // namespace vmx
