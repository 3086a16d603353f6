// Admin commands on a user's second credentials: app passwords (add, list, revoke) and TOTP
// (enrol, disable). Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "core/patterns.h"
#include "crypto/random.h"
#include "crypto/totp.h"

namespace vmx::admin {
namespace {

// 20 characters from a 32-letter alphabet (100 bits), in groups of four for reading aloud.
Result<std::string> generate_app_password() {
    constexpr std::string_view alphabet = "abcdefghjkmnpqrstuvwxyz23456789";  // no look-alikes
    std::array<std::uint8_t, 20> random{};
    if (auto r = crypto::random_bytes(random); !r) return fail(r.error());
    std::string out;
    for (std::size_t i = 0; i < random.size(); ++i) {
        if (i > 0 && i % 4 == 0) out += '-';
        out += alphabet[random[i] % alphabet.size()];
    }
    random.fill(0);
    return out;
}

}  // namespace

// The new password is hashed on the auth workers; it is stored, and shown once, when that is done.
void app_password_add(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const std::string label(required(r, "label"));
    const std::string address(required(r, "address"));
    if (!matches(Pattern::label, label))
        return respond(error_reply(fmt::format("--label {}", label), DirectoryErrc::invalid_label));
    auto password = generate_app_password();
    if (!password) return respond(error_reply("random", password.error()));
    const std::string shown_once = std::move(*password);  // hashed, and shown to the admin when stored
    c.hasher.hash(shown_once, [&c, label, address, password = shown_once, respond = std::move(respond)](Result<std::string> hash) {
        if (!hash) return respond(hash_refusal(hash.error()));
        respond(change_login(c, address, [&](User& u, std::string& msg) -> std::optional<AdminReply> {
            for (const auto& a : u.app_passwords)
                if (a.label == label) return error_reply(fmt::format("--label {}", label), DirectoryErrc::label_exists);
            if (u.app_passwords.size() >= app_passwords_per_user_max)
                return error_reply(fmt::format("user {}", u.address), DirectoryErrc::too_many_app_passwords);
            u.app_passwords.push_back({label, std::move(*hash), c.now_unix()});
            msg = fmt::format("app password for {} ({}): {}\n(shown once; it cannot be shown again)\n", u.address, label,
                              password);
            return std::nullopt;
        }));
    });
}

AdminReply app_password_list(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return error_reply("directory", view.error());
    auto user = view->find_user(address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    std::string out;
    for (const auto& a : user->app_passwords) {
        if (r.json)
            out += fmt::format(R"({}{{"label":{},"created":{}}})", out.empty() ? "" : ",", json_string(a.label),
                               json_string(format_time(a.created_unix)));
        else
            out += fmt::format("{}\tcreated={}\n", a.label, format_time(a.created_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

AdminReply app_password_revoke(AdminContext& c, const AdminRequest& r) {
    const auto label = r.field("label");
    return change_login(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        const std::size_t before = u.app_passwords.size();
        if (label)
            std::erase_if(u.app_passwords, [&](const AppPassword& a) { return a.label == *label; });
        else
            u.app_passwords.clear();
        if (label && u.app_passwords.size() == before)
            return error_reply(fmt::format("--label {}", *label), DirectoryErrc::unknown_label);
        msg = fmt::format("user {}: {} app password(s) revoked\n", u.address, before - u.app_passwords.size());
        return std::nullopt;
    });
}

AdminReply totp_enroll(AdminContext& c, const AdminRequest& r) {
    auto secret = crypto::totp_generate_secret();
    if (!secret) return error_reply("random", secret.error());
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        u.totp_secret = *secret;
        u.totp_last_step = 0;
        msg = fmt::format("TOTP enrolled for {}\nsecret: {}\nuri: {}\n(shown once; add it to an authenticator app now)\n",
                          u.address, crypto::base32_encode(*secret),
                          crypto::totp_provisioning_uri("vaultmx", u.address, *secret));
        return std::nullopt;
    });
}

AdminReply totp_disable(AdminContext& c, const AdminRequest& r) {
    return change_user(c, required(r, "address"), [&](User& u, std::string& msg) -> std::optional<AdminReply> {
        u.totp_secret.clear();
        u.totp_last_step = 0;
        msg = fmt::format("TOTP disabled for {}\n", u.address);
        return std::nullopt;
    });
}

}  // namespace vmx::admin
