// Admin commands on organisations: add, change plan, list, set the session and access policy.
// Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "core/patterns.h"

namespace vmx::admin {
namespace {

std::string org_json(const Organisation& o) {
    std::string nets;
    for (const auto& n : o.policy.allowed_networks) nets += (nets.empty() ? "" : ",") + json_string(n);
    return fmt::format(R"({{"id":{},"name":{},"plan":{},"session_max_s":{},"require_mfa":{},"allowed_networks":[{}],"created":{}}})",
                       o.id, json_string(o.name), json_string(name_of(o.plan)), o.policy.session_max_s,
                       o.policy.require_mfa ? "true" : "false", nets, json_string(format_time(o.created_unix)));
}

}  // namespace

AdminReply org_add(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    const auto plan = parse_plan(required(r, "plan"));
    if (!plan) return error_reply(fmt::format("plan {}", required(r, "plan")), DirectoryErrc::invalid_plan);
    auto keys = c.keys.snapshot();
    auto org = c.directory.add_org(*keys, name, *plan, c.now_unix());
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    if (*plan != crypto::Plan::ultimate) {
        if (auto e = c.keys.ensure(scope_of(*org, 0), c.now_unix()); !e) return error_reply("keys", e.error());
    }
    return ok(fmt::format("organisation {} added (plan {}, id {})\n", org->name, name_of(org->plan), org->id));
}

AdminReply org_set_plan(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    const auto plan = parse_plan(required(r, "plan"));
    if (!plan) return error_reply(fmt::format("plan {}", required(r, "plan")), DirectoryErrc::invalid_plan);
    auto org = c.directory.set_plan(*c.keys.snapshot(), name, *plan);
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    // New writes of the organisation's users go under the new plan's scope from now on.
    if (*plan != crypto::Plan::ultimate) {
        if (auto e = c.keys.ensure(scope_of(*org, 0), c.now_unix()); !e) return error_reply("keys", e.error());
    } else {
        auto view = DirectoryView::open(c.directory, c.keys.snapshot());
        if (!view) return error_reply("directory", view.error());
        auto users = view->users(std::nullopt);
        if (!users) return error_reply("directory", users.error());
        view->end();
        for (const User& u : *users)
            if (u.org_id == org->id)
                if (auto e = c.keys.ensure(scope_of(*org, u.id), c.now_unix()); !e) return error_reply("keys", e.error());
    }
    // Records already stored move to the new scope's key in the background.
    if (c.rewrap) c.rewrap->start(RewrapControl::Reason::plan_change);
    return ok(fmt::format("organisation {} is now on plan {}; stored records move to its key in the background\n",
                          org->name, name_of(org->plan)));
}

AdminReply org_list(AdminContext& c, const AdminRequest& r) {
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto orgs = view->orgs();
    if (!orgs) return error_reply("directory", orgs.error());
    std::string out;
    if (r.json) {
        for (const auto& o : *orgs) out += (out.empty() ? "" : ",") + org_json(o);
        return ok("[" + out + "]\n");
    }
    for (const auto& o : *orgs) {
        std::string nets;
        for (const auto& n : o.policy.allowed_networks) nets += (nets.empty() ? "" : ",") + n;
        out += fmt::format("{}\tplan={}\tsession_max_s={}\trequire_mfa={}\tallow_net={}\n", o.name,
                           name_of(o.plan), o.policy.session_max_s, o.policy.require_mfa ? "yes" : "no",
                           nets.empty() ? "any" : nets);
    }
    return ok(out);
}

AdminReply org_policy(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto org = view->find_org(name);
    if (!org) return error_reply(fmt::format("organisation {}", name), org.error());
    view->end();
    OrgPolicy policy = org->policy;
    if (auto s = r.field("session-max")) {
        auto seconds = parse_duration_s(*s);
        if (!seconds) return error_reply(fmt::format("--session-max {}", *s), DirectoryErrc::invalid_duration);
        policy.session_max_s = *seconds;
    }
    if (r.has("require-mfa")) policy.require_mfa = true;
    if (r.has("no-require-mfa")) policy.require_mfa = false;
    if (r.has("allow-any-net")) policy.allowed_networks.clear();
    const auto nets = r.all("allow-net");
    if (!nets.empty()) {
        policy.allowed_networks.clear();
        for (auto n : nets) {
            if (!matches(Pattern::ipv4_cidr, n) && !matches(Pattern::ipv6_cidr, n))
                return error_reply(fmt::format("--allow-net {}", n), DirectoryErrc::invalid_network);
            policy.allowed_networks.emplace_back(n);
        }
    }
    auto changed = c.directory.set_policy(*c.keys.snapshot(), name, policy);
    if (!changed) return error_reply(fmt::format("organisation {}", name), changed.error());
    return ok(fmt::format("organisation {}: policy updated\n", changed->name));
}

}  // namespace vmx::admin
