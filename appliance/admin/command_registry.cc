// Command name -> handler, in command_table.cc's order (see command_registry.h).
#include "appliance/admin/command_registry.h"

#include "appliance/admin/command_handlers.h"

namespace vmx {
namespace {

using namespace admin;

constexpr CommandHandler kHandlers[] = {
    {"org add", org_add},
    {"org set-plan", org_set_plan},
    {"org list", org_list},
    {"org policy", org_policy},
    {"org close", org_close},
    {"org reopen", org_reopen},
    {"domain add", domain_add},
    {"domain list", domain_list},
    {"user add", nullptr, user_add},
    {"user passwd", nullptr, user_passwd},
    {"user list", user_list},
    {"user disable", user_disable},
    {"user enable", user_enable},
    {"user logout", user_logout},
    {"user close", user_close},
    {"user reopen", user_reopen},
    {"user purge", nullptr, user_purge},
    {"user sessions", user_sessions},
    {"user logins", user_logins},
    {"user mailbox", user_mailbox},
    {"user restore", nullptr, user_restore},
    {"user export", nullptr, user_export},
    {"support mailbox", nullptr, support_mailbox},
    {"user app-password add", nullptr, app_password_add},
    {"user app-password list", app_password_list},
    {"user app-password revoke", app_password_revoke},
    {"user totp enroll", totp_enroll},
    {"user totp disable", totp_disable},
    {"user sender add", sender_add},
    {"user sender remove", sender_remove},
    {"user sender list", sender_list},
    {"key status", key_status},
    {"key rotate", key_rotate},
    {"secret set", secret_set},
    {"secret list", secret_list},
    {"secret remove", secret_remove},
    {"bans list", bans_list},
    {"bans remove", bans_remove},
    {"dkim keygen", dkim_keygen},
    {"dkim show", dkim_show},
    {"dkim rotate", dkim_rotate},
    {"queue list", queue_list},
    {"queue show", queue_show},
    {"queue retry", nullptr, queue_retry},
    {"queue delete", nullptr, queue_delete},
    {"stats", stats},
    {"audit show", audit_show},
    {"audit verify", audit_verify},
    {"logs show", logs_show},
    {"alarms", alarms},
    {"acme status", acme_status},
    {"acme renew", acme_renew},
};

}  // namespace

std::span<const CommandHandler> command_handlers() noexcept { return kHandlers; }

const CommandHandler* find_handler(std::string_view command) noexcept {
    for (const CommandHandler& h : kHandlers)
        if (h.command == command) return &h;
    return nullptr;
}

}  // namespace vmx
