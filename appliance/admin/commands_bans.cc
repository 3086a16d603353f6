// Admin commands on login bans: list (address, since, until, failures) and remove (lifts a ban and
// forgets the address's failures). The ban list belongs to the auth workers and the login ports;
// these only read and lift. Each is audited like every command (commands.cc). Control thread only.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/auth/ban_list.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {

AdminReply bans_list(AdminContext& c, const AdminRequest& r) {
    if (c.bans == nullptr) return refused("bans: not available here");
    std::string out;
    for (const Ban& b : c.bans->list(c.now_unix())) {
        if (r.json)
            out += fmt::format(R"({}{{"address":{},"since":{},"until":{},"failures":{}}})", out.empty() ? "" : ",",
                               json_string(b.address), json_string(format_time(b.since_unix)),
                               json_string(format_time(b.until_unix)), b.failures);
        else
            out += fmt::format("{}\tsince={}\tuntil={}\tfailures={}\n", b.address, format_time(b.since_unix),
                               format_time(b.until_unix), b.failures);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply bans_remove(AdminContext& c, const AdminRequest& r) {
    if (c.bans == nullptr) return refused("bans: not available here");
    const std::string_view address = required(r, "address");
    auto removed = c.bans->remove(address);
    if (!removed) return error_reply(fmt::format("ban of {}", address), removed.error());
    if (!*removed) return refused(fmt::format("{}: not banned", address));
    return ok(fmt::format("ban of {} lifted\n", address));
}

}  // namespace vmx::admin
