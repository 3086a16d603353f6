// Admin commands on the appliance secrets: set (the value from the request's secret, never a
// field), list (names and times, never values) and remove. Each goes through the KeyService, the
// one writer of the keys environment, which tells the daemon which secret changed. The audit entry
// (commands.cc) names the secret and never holds its value. `dkim/` names belong to the dkim
// commands (commands_dkim.cc) and are refused by set. Control thread only.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "appliance/keys/appliance_secrets.h"
#include "appliance/mailauth/dkim_keyring.h"

namespace vmx::admin {
namespace {

std::optional<AdminReply> refuse_name(std::string_view name) {
    if (valid_secret_name(name)) return std::nullopt;
    return refused(fmt::format("secret name {}: invalid (1 to {} of a-z 0-9 . _ - /)", json_string(name), secret_name_bytes_max));
}

// DKIM keys are secrets too, but only `dkim keygen|rotate` write them: a value typed in here would
// not be a key (removing one stays possible, to stop publishing it at once).
std::optional<AdminReply> refuse_dkim(std::string_view name) {
    if (!name.starts_with(dkim_secret_prefix)) return std::nullopt;
    return refused(fmt::format("secret {}: DKIM keys are made with `vaultmx dkim keygen` or `dkim rotate`", name));
}

}  // namespace

AdminReply secret_set(AdminContext& c, const AdminRequest& r) {
    const std::string_view name = required(r, "name");
    if (auto no = refuse_name(name)) return *no;
    if (auto no = refuse_dkim(name)) return *no;
    if (r.secret.empty()) return refused("value: none given (pipe it to stdin)");
    if (r.secret.size() > secret_value_bytes_max)
        return refused(fmt::format("value: longer than {} bytes", secret_value_bytes_max));
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(r.secret.data());
    auto stored = c.keys.set_appliance_secret(name, {bytes, r.secret.size()}, c.now_unix());
    if (!stored) return error_reply(fmt::format("secret {}", name), stored.error());
    return ok(fmt::format("secret {} set\n", name));
}

AdminReply secret_list(AdminContext& c, const AdminRequest& r) {
    auto secrets = c.keys.appliance_secrets();
    if (!secrets) return error_reply("secrets", secrets.error());
    std::string out;
    for (const SecretInfo& s : *secrets) {
        if (r.json)
            out += fmt::format(R"({}{{"name":{},"set":{}}})", out.empty() ? "" : ",", json_string(s.name),
                               json_string(format_time(s.set_unix)));
        else
            out += fmt::format("{}\tset={}\n", s.name, format_time(s.set_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply secret_remove(AdminContext& c, const AdminRequest& r) {
    const std::string_view name = required(r, "name");
    if (auto no = refuse_name(name)) return *no;
    auto removed = c.keys.remove_appliance_secret(name);
    if (!removed) return error_reply(fmt::format("secret {}", name), removed.error());
    if (!*removed) return refused(fmt::format("secret {}: none is set", name));
    return ok(fmt::format("secret {} removed\n", name));
}

}  // namespace vmx::admin
