// The acme admin commands: the certificates kept from the ACME CA, and a renewal on demand.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "appliance/admin/command_handlers.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {

AdminReply acme_status(AdminContext& c, const AdminRequest& r) {
    if (c.acme == nullptr) return refused("no ACME CA is configured ([acme] directory)");
    std::string out;
    for (const AcmeStatus& s : c.acme->status(c.now_unix())) {
        const std::string expires = s.not_after_unix > 0 ? format_time(s.not_after_unix) : "-";
        if (r.json) {
            std::string names;
            for (const auto& n : s.names) names += (names.empty() ? "" : ",") + json_string(n);
            out += fmt::format(R"({}{{"names":[{}],"state":"{}","not_after":{},"serial":{},"issuer":{},"last_error":{}}})",
                               out.empty() ? "" : ",", names, s.state, json_string(expires), json_string(s.serial_hex),
                               json_string(s.issuer), json_string(s.last_error));
        } else {
            out += fmt::format("{:<40} {:<9} expires {}  serial {}{}\n", fmt::join(s.names, ","), s.state, expires,
                               s.serial_hex.empty() ? "-" : s.serial_hex,
                               s.last_error.empty() ? "" : "  last error: " + s.last_error);
        }
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply acme_renew(AdminContext& c, const AdminRequest& r) {
    if (c.acme == nullptr) return refused("no ACME CA is configured ([acme] directory)");
    const std::string name(r.field("name").value_or(""));
    if (!c.acme->renew(name)) return refused("no certificate holds " + name);
    return ok(name.empty() ? "every certificate is ordered again now\n" : "the certificate holding " + name + " is ordered again now\n");
}

}  // namespace vmx::admin
