// The account vaultmxd serves as ([service] user and group) and the folders it must own: resolved
// by the daemon before it drops to it, and by `vaultmx init`, which hands the folders it makes to
// it. Plain functions; the main thread.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace vmx {

struct ServiceAccount {
    std::string user;
    std::string group;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The account named by [service] user and group, or one line saying why not ("service.user: ...").
// root (uid or gid 0) is refused: the daemon never goes on as root.
std::optional<ServiceAccount> resolve_service_account(const std::string& user, const std::string& group_name,
                                                      std::string& error_line);

// The account `user` with its primary group (vaultmx-portal's [portal] user), with the same refusals;
// "portal.user: ..." lines.
std::optional<ServiceAccount> resolve_user_account(const std::string& user, std::string& error_line);

// Makes `path` and everything under it owned by the account (symbolic links themselves, never
// what they point to). Only root can; for anyone else it checks the top and says when it is not
// writable. An error line, or nullopt.
std::optional<std::string> own_tree(const std::string& path, const ServiceAccount& account);

}  // namespace vmx
