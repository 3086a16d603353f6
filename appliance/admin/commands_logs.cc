// The logs admin command: events from the sealed spool, decrypted for the admin (the command itself
// is audited like every other). Filters: a time window (found by binary search on sequence), an
// event name or family, a sequence to continue after (`--follow` polls with it), a count.
#include <fmt/format.h>

#include <charconv>

#include "appliance/admin/command_handlers.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "appliance/ops/log_line.h"
#include "core/log_sink.h"

namespace vmx::admin {
namespace {

constexpr std::uint64_t logs_limit_default = 100'000;
constexpr std::uint64_t logs_limit_max = 1'000'000;
constexpr std::size_t logs_reply_bytes_max = std::size_t{48} << 20;  // under the admin reply cap
constexpr std::size_t logs_read_chunk = 2000;

std::optional<std::uint64_t> parse_count(std::string_view text) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return v;
}

// "smtp" matches smtp.session and smtp.client_limited; "smtp.session" only itself.
bool event_matches(std::string_view msgid, std::string_view wanted) {
    return wanted.empty() || msgid == wanted ||
           (msgid.size() > wanted.size() && msgid.starts_with(wanted) && msgid[wanted.size()] == '.');
}

}  // namespace

AdminReply logs_show(AdminContext& c, const AdminRequest& r) {
    if (c.log == nullptr) return {AdminStatus::failed, "logs: this daemon keeps no log spool"};
    // Events wait up to a commit interval in memory; what was logged before the request is shown.
    if (c.flush_log) c.flush_log();
    return show_log_events(*c.log, r);
}

AdminReply show_log_events(const LogSpool& spool, const AdminRequest& r) {
    std::uint64_t from = 1;
    if (auto s = r.field("since")) {
        const auto since = parse_since(*s);
        if (!since || *since < 0) return refused(fmt::format("--since {}: invalid time", *s));
        auto found = spool.find_time(format_log_time(static_cast<std::uint64_t>(*since) * 1000000));
        if (!found) return error_reply("logs", found.error());
        from = *found;
    }
    std::string until;
    if (auto u = r.field("until")) {
        const auto parsed = parse_since(*u);
        if (!parsed || *parsed < 0) return refused(fmt::format("--until {}: invalid time", *u));
        until = format_log_time(static_cast<std::uint64_t>(*parsed) * 1000000);
    }
    if (auto a = r.field("after")) {
        const auto after = parse_count(*a);
        if (!after) return refused(fmt::format("--after {}: not a sequence number", *a));
        from = std::max(from, *after + 1);
    }
    std::uint64_t limit = logs_limit_default;
    if (auto l = r.field("limit")) {
        const auto parsed = parse_count(*l);
        if (!parsed || *parsed == 0 || *parsed > logs_limit_max)
            return refused(fmt::format("--limit {}: expected 1 to {}", *l, logs_limit_max));
        limit = *parsed;
    }
    const std::string_view event = r.field("event").value_or("");
    std::string out;
    std::uint64_t shown = 0;
    bool done = false;
    while (!done && shown < limit && out.size() < logs_reply_bytes_max) {
        auto events = spool.read(from, logs_read_chunk, logs_reply_bytes_max);
        if (!events) return error_reply("logs", events.error());
        if (events->empty()) break;
        for (const LogEvent& e : *events) {
            from = e.sequence + 1;
            const auto fields = parse_log_line(e.line);
            if (!until.empty() && fields && fields->timestamp >= until) {
                done = true;
                break;
            }
            if (!event_matches(fields ? fields->msgid : std::string_view(), event)) continue;
            if (r.json)
                out += fmt::format("{}{{\"sequence\":{},\"line\":{}}}", shown == 0 ? "" : ",", e.sequence, json_string(e.line));
            else
                out += e.line + "\n";
            if (++shown == limit || out.size() >= logs_reply_bytes_max) break;
        }
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
