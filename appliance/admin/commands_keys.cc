// Admin commands on the key hierarchy: every scope key's versions, and rotation (records are
// rewrapped in the background by RewrapControl). Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "core/hex_text.h"
#include "crypto/errc.h"

namespace vmx::admin {
namespace {

std::string_view scope_kind_name(crypto::ScopeKind k) {
    switch (k) {
        case crypto::ScopeKind::shared: return "shared";
        case crypto::ScopeKind::organisation: return "organisation";
        case crypto::ScopeKind::user: return "user";
        case crypto::ScopeKind::appliance: return "appliance";
        case crypto::ScopeKind::account: return "account";
    }
    return "unknown";
}

std::string_view key_state_name(crypto::KeyState s) {
    switch (s) {
        case crypto::KeyState::active: return "active";
        case crypto::KeyState::retiring: return "retiring";
        case crypto::KeyState::destroyed: return "destroyed";
    }
    return "unknown";
}

// The new key comes as the request's secret, read by the CLI from --new-key-file; it never reaches a
// field, a log line or a reply.
// Root only: the master key is root's file, and a member of the admin group must not be able to put
// the store under a key of their choosing.
AdminReply rotate_master(AdminContext& c, const AdminRequest& r) {
    if (c.peer_uid != 0)
        return {AdminStatus::forbidden, "key rotate --master: root only (the master key file is root's)\n"};
    if (r.secret.size() != crypto::master_key_bytes)
        return refused("key rotate --master: run it as `vaultmx key rotate --master --new-key-file PATH` (vaultmx reads the file)");
    const std::span<const std::uint8_t> material(reinterpret_cast<const std::uint8_t*>(r.secret.data()), r.secret.size());
    auto check = crypto::master_key_check(material);
    if (!check) return error_reply("keys", check.error());
    const std::string fingerprint = hex_of(*check);
    auto rotated = c.keys.rotate_master(crypto::MasterKey{crypto::SecretBytes::copy_of(material), *check});
    if (!rotated && rotated.error() == crypto::CryptoErrc::invalid_argument)
        return refused("key rotate --master: the new key is already the master key");
    if (!rotated) return error_reply("keys", rotated.error());
    return ok(fmt::format("master key rotated: every scope key, held key and appliance secret is wrapped under the key "
                          "with fingerprint {}; only it opens the store from now on\n",
                          fingerprint));
}

}  // namespace

AdminReply key_status(AdminContext& c, const AdminRequest& r) {
    std::string out;
    for (const auto& record : c.keys.records()) {
        for (const auto& v : record.versions) {
            if (r.json)
                out += fmt::format(R"({}{{"key_id":{},"scope":{},"owner":{},"version":{},"state":{},"created":{}}})",
                                   out.empty() ? "" : ",", record.key_id, json_string(scope_kind_name(record.scope.kind)),
                                   record.scope.owner, v.version, json_string(key_state_name(v.state)),
                                   json_string(format_time(v.created_unix)));
            else
                out += fmt::format("key {}\tscope={}:{}\tversion={}\tstate={}\tcreated={}\n", record.key_id,
                                   scope_kind_name(record.scope.kind), record.scope.owner, v.version,
                                   key_state_name(v.state), format_time(v.created_unix));
        }
    }
    const std::string rewrap = c.rewrap ? c.rewrap->status() : std::string("rewrap: idle");
    if (r.json) return ok("[" + out + "]\n");
    return ok(out + rewrap + "\n");
}

AdminReply key_rotate(AdminContext& c, const AdminRequest& r) {
    crypto::Scope scope;
    std::string what;
    if (r.has("shared")) {
        scope = {crypto::ScopeKind::shared, 0};
        what = "the shared key";
    } else if (auto name = r.field("org")) {
        auto view = DirectoryView::open(c.directory, c.keys.snapshot());
        if (!view) return error_reply("directory", view.error());
        auto org = view->find_org(*name);
        if (!org) return error_reply(fmt::format("organisation {}", *name), org.error());
        if (org->plan != crypto::Plan::pro)
            return refused(fmt::format("organisation {} is on plan {}: only pro organisations have their own key",
                                       org->name, name_of(org->plan)));
        scope = {crypto::ScopeKind::organisation, org->id};
        what = "the key of organisation " + org->name;
    } else if (auto address = r.field("user")) {
        auto view = DirectoryView::open(c.directory, c.keys.snapshot());
        if (!view) return error_reply("directory", view.error());
        const auto keys = c.keys.snapshot();
        auto user = view->find_user(*address);
        if (!user) return error_reply(fmt::format("user {}", *address), user.error());
        auto org = view->org(user->org_id);
        if (!org) return error_reply("directory", org.error());
        // Every user has an account key; an ultimate user's own scope key wraps it and rotates it too.
        scope = org->plan == crypto::Plan::ultimate ? crypto::Scope{crypto::ScopeKind::user, user->id}
                                                    : crypto::account_scope(user->id);
        what = "the key of user " + user->address;
    } else if (r.has("appliance")) {
        scope = appliance_scope;
        what = "the appliance key";
    } else if (r.has("master")) {
        return rotate_master(c, r);
    } else {
        return refused("key rotate: say which key: --shared, --org NAME, --user ADDRESS, --appliance or --master");
    }
    auto ref = c.keys.rotate(scope, c.now_unix());
    if (!ref) return error_reply("keys", ref.error());
    if (c.rewrap) c.rewrap->start();
    return ok(fmt::format("rotated {}: version {} is active; the previous version retires once its records are "
                          "rewrapped\n", what, ref->version));
}

}  // namespace vmx::admin
