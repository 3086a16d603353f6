// The service account and folder ownership (see service_account.h).
#include "appliance/common/service_account.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <vector>

namespace vmx {
namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

}  // namespace

std::optional<ServiceAccount> resolve_service_account(const std::string& user, const std::string& group_name,
                                                      std::string& error_line) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found_user = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found_user) != 0 || found_user == nullptr) {
        error_line = "service.user: " + user + ": no such user (create it: useradd --system --user-group " + user +
                     ", or name another in [service] user)";
        return std::nullopt;
    }
    ServiceAccount account{user, group_name, pw.pw_uid, 0};
    struct group grp{};
    struct group* found_group = nullptr;
    if (getgrnam_r(group_name.c_str(), &grp, buffer.data(), buffer.size(), &found_group) != 0 ||
        found_group == nullptr) {
        error_line = "service.group: " + group_name + ": no such group";
        return std::nullopt;
    }
    account.gid = grp.gr_gid;
    if (account.uid == 0) {
        error_line = "service.user: " + user + " is root; the daemon does not serve as root (name an unprivileged user)";
        return std::nullopt;
    }
    if (account.gid == 0) {
        error_line = "service.group: " + group_name + " is root's group; name an unprivileged group";
        return std::nullopt;
    }
    return account;
}

std::optional<ServiceAccount> resolve_user_account(const std::string& user, std::string& error_line) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found_user = nullptr;
    if (getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found_user) != 0 || found_user == nullptr) {
        error_line = "portal.user: " + user + ": no such user (scripts/install-deps and the packages create it)";
        return std::nullopt;
    }
    const gid_t gid = pw.pw_gid;
    struct group grp{};
    struct group* found_group = nullptr;
    if (getgrgid_r(gid, &grp, buffer.data(), buffer.size(), &found_group) != 0 || found_group == nullptr) {
        error_line = "portal.user: " + user + ": its primary group does not exist";
        return std::nullopt;
    }
    const std::string group_name = grp.gr_name;
    auto account = resolve_service_account(user, group_name, error_line);
    if (!account) error_line = "portal." + error_line.substr(error_line.find('.') + 1);
    return account;
}

std::optional<std::string> own_tree(const std::string& path, const ServiceAccount& account) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (geteuid() != 0) {
        if (access(path.c_str(), W_OK) != 0)
            return path + ": not writable by " + account.user + ": " + errno_text(errno);
        return std::nullopt;
    }
    const auto own = [&](const fs::path& p) -> std::optional<std::string> {
        if (lchown(p.c_str(), account.uid, account.gid) != 0)
            return p.string() + ": cannot give it to " + account.user + ": " + errno_text(errno);
        return std::nullopt;
    };
    if (auto failed = own(path)) return failed;
    for (fs::recursive_directory_iterator it(path, fs::directory_options::none, ec), end; !ec && it != end;
         it.increment(ec))
        if (auto failed = own(it->path())) return failed;
    if (ec) return path + ": cannot walk: " + ec.message();
    return std::nullopt;
}

}  // namespace vmx
