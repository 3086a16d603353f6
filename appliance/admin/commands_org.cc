// Admin commands on organisations: add, change plan, list, set the session, access and submission
// policy. Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include <charconv>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "core/patterns.h"

namespace vmx::admin {
namespace {

std::string org_json(const Organisation& o) {
    std::string nets;
    for (const auto& n : o.policy.allowed_networks) nets += (nets.empty() ? "" : ",") + json_string(n);
    return fmt::format(R"({{"id":{},"name":{},"plan":{},"session_max_s":{},"require_mfa":{},"allowed_networks":[{}],)"
                       R"("submission_messages_per_hour":{},"submission_recipients_per_hour":{},"created":{}}})",
                       o.id, json_string(o.name), json_string(name_of(o.plan)), o.policy.session_max_s,
                       o.policy.require_mfa ? "true" : "false", nets, o.policy.submission_messages_per_hour,
                       o.policy.submission_recipients_per_hour, json_string(format_time(o.created_unix)));
}

// An hourly limit as the admin set it: the number, or "default" for 0 (the config's value applies).
std::string hourly_text(std::uint32_t per_hour) { return per_hour ? std::to_string(per_hour) : std::string("default"); }

// The policy as one line of key=value fields, for org list and org policy's answer.
std::string policy_text(const OrgPolicy& p) {
    std::string nets;
    for (const auto& n : p.allowed_networks) nets += (nets.empty() ? "" : ",") + n;
    return fmt::format("session_max_s={}\trequire_mfa={}\tallow_net={}\tmessages_per_hour={}\trecipients_per_hour={}",
                       p.session_max_s, p.require_mfa ? "yes" : "no", nets.empty() ? "any" : nets,
                       hourly_text(p.submission_messages_per_hour), hourly_text(p.submission_recipients_per_hour));
}

// "0" to "1000000", digits only; 0 puts the appliance default back.
std::optional<std::uint32_t> parse_hourly_limit(std::string_view text) {
    std::uint32_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n > submission_per_hour_max)
        return std::nullopt;
    return n;
}

// Reads --messages-per-hour and --recipients-per-hour into `policy`; a refusal names the option.
std::optional<AdminReply> read_hourly_limits(const AdminRequest& r, OrgPolicy& policy) {
    for (auto [field, target] : {std::pair{"messages-per-hour", &policy.submission_messages_per_hour},
                                 std::pair{"recipients-per-hour", &policy.submission_recipients_per_hour}}) {
        const auto text = r.field(field);
        if (!text) continue;
        const auto n = parse_hourly_limit(*text);
        if (!n) return error_reply(fmt::format("--{} {}", field, *text), DirectoryErrc::invalid_hourly_limit);
        *target = *n;
    }
    return std::nullopt;
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
    // Each user's account key is wrapped by the new plan's scope key from now on; the records it
    // seals stay as they are.
    if (*plan != crypto::Plan::ultimate) {
        if (auto e = c.keys.ensure(scope_of(*org, 0), c.now_unix()); !e) return error_reply("keys", e.error());
    }
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto users = view->users(std::nullopt);
    if (!users) return error_reply("directory", users.error());
    view->end();
    std::vector<KeyService::AccountScope> accounts;
    for (const User& u : *users)
        if (u.org_id == org->id) accounts.push_back({u.id, scope_of(*org, u.id)});
    if (auto e = c.keys.ensure_accounts(accounts, c.now_unix()); !e) return error_reply("keys", e.error());
    // Records still sealed under a plan scope's key (written before account keys) move in the background.
    if (c.rewrap) c.rewrap->start(RewrapControl::Reason::plan_change);
    return ok(fmt::format("organisation {} is now on plan {}; its users' keys are wrapped by the plan's key\n",
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
    for (const auto& o : *orgs) out += fmt::format("{}\tplan={}\t{}\n", o.name, name_of(o.plan), policy_text(o.policy));
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
    if (auto refused = read_hourly_limits(r, policy)) return *refused;
    auto changed = c.directory.set_policy(*c.keys.snapshot(), name, policy);
    if (!changed) return error_reply(fmt::format("organisation {}", name), changed.error());
    return ok(fmt::format("organisation {}: policy updated\n{}\n", changed->name, policy_text(changed->policy)));
}

}  // namespace vmx::admin
