// Admin commands of account closure: user close / reopen / purge --now, org close / reopen.
// Closing keeps every record (the purge, jobs/closure_purge.h, removes them after [lifecycle]
// closure_purge_days) and at once ends the account's live sessions on every shard. Control thread.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/directory/directory_view.h"
#include "appliance/jobs/closure_purge.h"

namespace vmx::admin {
namespace {

// Ends the account's sessions everywhere and drops what the auth workers verified for it.
void end_sessions(AdminContext& c, const User& u) {
    if (c.verified_logins != nullptr) c.verified_logins->forget(u.address);
    if (c.shards != nullptr) c.shards->logout_everywhere(u.id);
}

std::string purge_note(const AdminContext& c, std::int64_t closed_unix) {
    if (c.closure_purge_days == 0) return "its data is purged at the next sweep";
    return fmt::format("its data is purged on or after {} ([lifecycle] closure_purge_days = {})",
                       format_time(closed_unix + std::int64_t{c.closure_purge_days} * 86400), c.closure_purge_days);
}

// After the purge nothing is left to reopen: the address names no account.
AdminReply reopen_error(std::string_view subject, std::error_code e) {
    if (e == DirectoryErrc::unknown_user || e == DirectoryErrc::unknown_org)
        return refused(fmt::format("{}: no such account, or its purge is over (a closed account can be reopened only "
                                   "within [lifecycle] closure_purge_days)",
                                   subject));
    return error_reply(subject, e);
}

}  // namespace

AdminReply user_close(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto closed = c.directory.close_user(*c.keys.snapshot(), address, c.now_unix());
    if (!closed) return error_reply(fmt::format("user {}", address), closed.error());
    end_sessions(c, *closed);
    return ok(fmt::format("user {}: closed (sessions ended, logins and mail refused); {}; until then: "
                          "vaultmx user reopen {}\n",
                          closed->address, purge_note(c, closed->closed_unix), closed->address));
}

AdminReply user_reopen(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto reopened = c.directory.reopen_user(*c.keys.snapshot(), address);
    if (!reopened) return reopen_error(fmt::format("user {}", address), reopened.error());
    if (c.verified_logins != nullptr) c.verified_logins->forget(reopened->address);
    return ok(fmt::format("user {}: reopened ({})\n", reopened->address, name_of(reopened->state)));
}

// Purges a closed account now; answers when it is gone. The command table fixes the signature.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void user_purge(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const std::string address(required(r, "address"));
    if (!r.has("now"))
        return respond(refused(fmt::format("user {}: a closed account is purged on its own after [lifecycle] "
                                           "closure_purge_days; add --now to purge it at once",
                                           address)));
    if (c.closure == nullptr) return respond({AdminStatus::failed, "the closure purge is not running"});
    auto user = named_user(c, address);
    if (!user) return respond(error_reply(fmt::format("user {}", address), user.error()));
    if (user->state != UserState::closed)
        return respond(error_reply(fmt::format("user {}", address), DirectoryErrc::account_not_closed));
    c.closure->purge_now(user->id, [respond, address](Result<void> done) {
        if (!done) return respond(error_reply(fmt::format("user {}", address), done.error()));
        respond(ok(fmt::format("user {}: purged (mail, trash, login history, credentials and its own key, if any, "
                               "are gone; the address is free)\n",
                               address)));
    });
}

AdminReply org_close(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    auto closed = c.directory.close_org(*c.keys.snapshot(), name, c.now_unix());
    if (!closed) return error_reply(fmt::format("organisation {}", name), closed.error());
    std::size_t users = 0;
    if (auto view = DirectoryView::open(c.directory, c.keys.snapshot())) {
        if (auto all = view->users(std::nullopt)) {
            view->end();
            for (const User& u : *all) {
                if (u.org_id != closed->id) continue;
                end_sessions(c, u);
                ++users;
            }
        }
    }
    return ok(fmt::format("organisation {}: closed with its {} user(s) (sessions ended, logins refused, its domains "
                          "refuse mail); {}; until then: vaultmx org reopen {}\n",
                          closed->name, users, purge_note(c, closed->closed_unix), closed->name));
}

AdminReply org_reopen(AdminContext& c, const AdminRequest& r) {
    const auto name = required(r, "name");
    auto reopened = c.directory.reopen_org(*c.keys.snapshot(), name);
    if (!reopened) return reopen_error(fmt::format("organisation {}", name), reopened.error());
    return ok(fmt::format("organisation {}: reopened with the users its closure closed\n", reopened->name));
}

}  // namespace vmx::admin
