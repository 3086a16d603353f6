#include "appliance/admin/init_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "crypto/master_key.h"
#include "crypto/self_signed_cert.h"
#include "store/layout.h"
#include "appliance/audit/audit_log.h"
#include "appliance/common/service_account.h"
#include "appliance/keys/key_setup.h"

namespace vmx {
namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

// Creates the folder (and its parents) and sets its mode; an existing folder keeps its contents
// but gets the mode, so a data folder never stays readable by others.
std::string make_folder(const std::string& path, fs::perms mode, InitReport& report, const char* what) {
    std::error_code ec;
    const bool created = fs::create_directories(path, ec);
    if (ec) return std::string(what) + ": cannot create " + path + ": " + ec.message();
    fs::permissions(path, mode, fs::perm_options::replace, ec);
    if (ec) return std::string(what) + ": cannot set the mode of " + path + ": " + ec.message();
    report.done.push_back(std::string(what) + ": " + (created ? "created " : "kept ") + path);
    if (created) report.made_folders.push_back(path);
    return {};
}

std::string parent_of(const std::string& path) {
    const fs::path parent = fs::path(path).parent_path();
    return parent.empty() ? std::string(".") : parent.string();
}

std::string ensure_master_key(const Config& config, InitReport& report) {
    const std::string& path = config.master_key_file;
    if (exists(path)) {
        auto key = crypto::load_master_key_file(path);
        if (!key) return "keys.master_key_file: " + path + ": " + key.error().message();
        report.done.push_back("master key: kept " + path);
        return {};
    }
    std::error_code ec;
    fs::create_directories(parent_of(path), ec);
    if (ec) return "keys.master_key_file: cannot create the folder of " + path + ": " + ec.message();
    if (auto r = crypto::generate_master_key_file(path); !r)
        return "keys.master_key_file: cannot create " + path + ": " + r.error().message();
    report.done.push_back("master key: created " + path + " (mode 0600; back it up somewhere safe: without it "
                          "no stored mail can be read)");
    return {};
}

std::string ensure_certificate(const Config& config, InitReport& report) {
    const bool have_cert = exists(config.tls_cert);
    const bool have_key = exists(config.tls_key);
    if (have_cert && have_key) {
        report.done.push_back("certificate: kept " + config.tls_cert);
        return {};
    }
    if (have_cert || have_key)
        return "tls: only one of " + config.tls_cert + " and " + config.tls_key + " exists; remove it or add the other";
    std::error_code ec;
    fs::create_directories(parent_of(config.tls_cert), ec);
    if (!ec) fs::create_directories(parent_of(config.tls_key), ec);
    if (ec) return "tls: cannot create the folders of the certificate and key: " + ec.message();
    if (auto r = crypto::write_self_signed(crypto::SelfSignedRequest{}, config.tls_cert, config.tls_key); !r)
        return "tls: cannot create a self-signed certificate: " + r.error().message();
    // Root's, readable by the service group: the daemon reads it again, as that user, on SIGHUP.
    std::string mode = "mode 0600";
    if (geteuid() == 0) {
        std::string error_line;
        if (auto account = resolve_service_account(config.service_user, config.service_group, error_line);
            account && ::chown(config.tls_key.c_str(), 0, account->gid) == 0 && ::chmod(config.tls_key.c_str(), 0640) == 0)
            mode = "mode 0640, group " + account->group;
    }
    report.done.push_back("certificate: created a self-signed certificate for localhost in " + config.tls_cert +
                          " (key " + config.tls_key + ", " + mode + ")");
    return {};
}

// The store's metadata and every environment; an initialised store is checked and kept as it is.
std::string ensure_store(const Config& config, InitReport& report) {
    auto made = store::StoreLayout::init(config.data_dir, config.store);
    if (!made) return "store: cannot initialise " + config.data_dir + ": " + made.error().message();
    const std::uint32_t segments = made->layout.segments();
    if (made->created)
        report.done.push_back("store: created " + std::to_string(segments) + " segments in " + config.data_dir);
    else
        report.done.push_back("store: kept " + std::to_string(segments) + " segments in " + config.data_dir +
                              " (the segment count is fixed at the first init)");
    return {};
}

// Binds the store to the master key (its fingerprint goes into the `keys` environment), so a
// daemon started later with another key stops at once.
std::string bind_keys(const Config& config, InitReport& report) {
    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) return "store: cannot open " + config.data_dir + ": " + layout.error().message();
    auto master = crypto::load_master_key_file(config.master_key_file);
    if (!master) return "keys.master_key_file: " + config.master_key_file + ": " + master.error().message();
    auto opened = open_keys(*layout, std::move(*master), config.master_key_file);
    if (auto* error = std::get_if<std::string>(&opened)) return *error;
    OpenedKeys& keys = std::get<OpenedKeys>(opened);
    // The appliance key seals the directory and the audit log; the audit chain starts here, so a
    // daemon that later finds it empty knows it was emptied.
    if (auto r = ensure_audit_key(keys.ring, keys.store, static_cast<std::int64_t>(std::time(nullptr))); !r)
        return "keys: cannot create the appliance key: " + r.error().message();
    if (auto started = AuditLog::start_chain(*layout, keys.ring.snapshot()); !started)
        return "store: cannot start the audit log in " + layout->path(store::GlobalKind::audit) + ": " +
               started.error().message();
    report.done.push_back("keys: the store accepts the master key in " + config.master_key_file +
                          " (" + std::to_string(keys.ring.records().size()) + " scope keys)");
    return {};
}

// Run by root, init hands every folder it made to the service user, which the daemon becomes once
// its ports are open: the store's folders (kind paths outside the data folder too), the log folder
// and the admin socket's folder. The master key and the certificate stay root's: the daemon reads
// them before it drops (the certificate's key is group-readable by the service group for reloads).
std::string hand_over(const Config& config, InitReport& report) {
    if (geteuid() != 0) return {};
    std::string error_line;
    auto account = resolve_service_account(config.service_user, config.service_group, error_line);
    if (!account) return error_line;
    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) return "store: cannot open " + config.data_dir + ": " + layout.error().message();
    std::vector<std::string> folders{config.data_dir};
    for (store::SegmentKind kind : store::segment_kinds) {
        const std::string root = layout->root(kind);
        if (!root.starts_with(config.data_dir + "/")) folders.push_back(root);
    }
    // The log and socket folders only when this run made them: an existing one may be a system
    // folder (/var/log) that must stay as it is.
    for (const std::string& made : report.made_folders)
        if (made != config.data_dir) folders.push_back(made);
    for (const std::string& folder : folders)
        if (auto failed = own_tree(folder, *account)) return "service.user: " + *failed;
    report.done.push_back("ownership: the store's folders belong to " + account->user + ":" + account->group);
    return {};
}

}  // namespace

InitReport run_init(const Config& config, SelfSigned self_signed) {
    InitReport report;
    using P = fs::perms;
    const P owner_only = P::owner_all;
    const P owner_group = P::owner_all | P::group_read | P::group_exec;
    if (auto e = make_folder(config.data_dir, owner_only, report, "data"); !e.empty()) return report.error = e, report;
    if (auto e = make_folder(config.log_dir, owner_group, report, "log"); !e.empty()) return report.error = e, report;
    if (auto e = make_folder(parent_of(config.admin_socket), owner_group, report, "admin socket folder"); !e.empty())
        return report.error = e, report;
    // vaultmx-portal, its own user, must reach the portal socket: the folder lets others pass, not
    // list (each socket file keeps its own group rule).
    const P passable = owner_group | P::others_exec;
    if (auto e = make_folder(parent_of(config.portal_socket), passable, report, "portal socket folder"); !e.empty())
        return report.error = e, report;
    if (auto e = ensure_master_key(config, report); !e.empty()) return report.error = e, report;
    if (auto e = ensure_store(config, report); !e.empty()) return report.error = e, report;
    if (auto e = bind_keys(config, report); !e.empty()) return report.error = e, report;
    if (auto e = hand_over(config, report); !e.empty()) return report.error = e, report;
    if (self_signed == SelfSigned::yes) {
        if (auto e = ensure_certificate(config, report); !e.empty()) return report.error = e, report;
    }
    return report;
}

}  // namespace vmx
