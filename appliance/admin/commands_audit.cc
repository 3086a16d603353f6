// Admin commands on the audit chain: show entries, verify the chain. Control thread only.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {

AdminReply audit_show(AdminContext& c, const AdminRequest& r) {
    if (c.audit == nullptr) return ok(r.json ? "[]\n" : "");
    std::int64_t since = 0;
    if (auto s = r.field("since")) {
        auto parsed = parse_since(*s);
        if (!parsed) return refused(fmt::format("--since {}: invalid time (unix seconds or YYYY-MM-DD)", *s));
        since = *parsed;
    }
    auto entries = c.audit->read(since, 10000);
    if (!entries) return error_reply("audit", entries.error());
    std::string out;
    for (const AuditEntry& e : *entries) {
        if (!r.json) {
            out += format_audit_entry(e) + "\n";
            continue;
        }
        std::string args;
        for (const auto& a : e.arguments) args += (args.empty() ? "" : ",") + json_string(a);
        out += fmt::format(R"({}{{"sequence":{},"time":{},"uid":{},"command":{},"arguments":[{}],"result":{},"message":{}}})",
                           out.empty() ? "" : ",", e.sequence, json_string(format_time(e.time_unix)), e.actor_uid,
                           json_string(e.command), args,
                           json_string(e.result.outcome == AuditOutcome::ok ? "ok" : e.result.error_class),
                           json_string(e.result.message));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply audit_verify(AdminContext& c, const AdminRequest&) {
    if (c.audit == nullptr) return {AdminStatus::failed, "audit: no audit log"};
    const AuditVerifyReport report = c.audit->verify();
    const std::string line = format_audit_verify(report) + "\n";
    if (report.ok()) return ok(line);
    return {report.fault == AuditFault::unreadable ? AdminStatus::failed : AdminStatus::refused, line};
}

}  // namespace vmx::admin
