// The daemon's side of vaultmx-portal: the user-scoped socket ([portal] socket) and the portal's
// sessions. Opened with the admin socket, before the privileges drop; served by the control thread.
#include "appliance/common/service_account.h"
#include "appliance/daemon/daemon.h"
#include "core/log.h"

namespace vmx {

std::optional<StartFailure> Daemon::open_portal_socket() {
    // The portal's account, when it exists: it alone (and root) may use the socket. Without it only
    // root may, so a portal started by hand as root still works on a development box.
    std::optional<uid_t> portal_uid;
    std::optional<gid_t> portal_gid;
    std::string no_account;
    if (auto account = resolve_user_account(config_.portal_user, no_account)) {
        portal_uid = account->uid;
        portal_gid = account->gid;
    }
    PortalSessionLimits limits;
    limits.sessions_max = config_.limits.portal_sessions_max;
    limits.idle_s = config_.limits.portal_idle_s;
    portal_sessions_ = std::make_unique<PortalSessions>(limits);
    portal_context_ = std::make_unique<PortalContext>(
        PortalContext{*admin_, *portal_sessions_, config_.limits.portal_session_max_s, acme_.get()});
    AdminServerOptions options{config_.limits.admin_io_timeout_ms, config_.limits.admin_reply_timeout_ms,
                               config_.limits.admin_connections_max};
    options.permitted = [portal_uid](const AdminPeer& peer) {
        return portal_uid ? portal_peer_permitted(peer, *portal_uid) : peer.uid == 0;
    };
    options.group = portal_gid;
    options.refusal = "permission denied: the portal socket is for root and the portal's user";
    PortalContext& context = *portal_context_;
    auto server = AdminServer::open(
        config_.portal_socket,
        [&context](const AdminRequest& request, const AdminPeer& peer, AdminResponder respond) {
            const std::string command = request.command;
            run_portal_command(context, request, peer, [command, respond = std::move(respond)](AdminReply reply) {
                if (reply.status != AdminStatus::ok)
                    log_event(LogLevel::info, "portal.refused", "command=\"{}\" status={}", command, static_cast<int>(reply.status));
                respond(std::move(reply));
            });
        },
        std::move(options));
    if (!server)
        return config_failure("portal.socket: cannot listen on " + config_.portal_socket + ": " + server.error().message());
    portal_server_ = std::move(*server);
    return std::nullopt;
}

}  // namespace vmx
