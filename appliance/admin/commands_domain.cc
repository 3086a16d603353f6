// Admin commands on the mail domains the appliance serves: add, list. Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {

AdminReply domain_add(AdminContext& c, const AdminRequest& r) {
    const auto domain = required(r, "domain");
    const auto org = required(r, "org");
    auto added = c.directory.add_domain(*c.keys.snapshot(), domain, org, c.now_unix());
    if (!added) {
        const bool about_org = added.error() == DirectoryErrc::unknown_org || added.error() == DirectoryErrc::invalid_org_name;
        return error_reply(about_org ? fmt::format("organisation {}", org) : fmt::format("domain {}", domain),
                           added.error());
    }
    return ok(fmt::format("domain {} added to organisation {}\n", added->name, org));
}

AdminReply domain_list(AdminContext& c, const AdminRequest& r) {
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    const auto keys = c.keys.snapshot();
    auto domains = view->domains();
    if (!domains) return error_reply("directory", domains.error());
    std::string out;
    for (const auto& d : *domains) {
        auto org = view->org(d.org_id);
        const std::string org_name = org ? org->name : std::string("?");
        if (r.json)
            out += fmt::format(R"({}{{"id":{},"domain":{},"org":{}}})", out.empty() ? "" : ",", d.id,
                               json_string(d.name), json_string(org_name));
        else
            out += fmt::format("{}\torg={}\n", d.name, org_name);
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
