// The daemon's key hierarchy at start: the master key (a systemd credential or the key file), the
// key store, the held log and directory-index keys, the appliance key; then every user's account
// key (keyring.h) before any shard seals a record for them, so a store from before account keys,
// or one whose directory was restored, gets them in one save. Records still sealed under a plan
// scope's key move to the account keys by the next clean rewrap walk
// (RewrapControl::migrate_accounts), which marks the migration done. Control thread, before the
// shards start.
#include <cstdlib>
#include <ctime>
#include <map>

#include "appliance/daemon/daemon.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/errc.h"
#include "crypto/master_key.h"

namespace vmx {
namespace {

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

// The master key from a systemd credential when the unit passes one, else from the configured file.
Result<crypto::MasterKey> load_master_key(const Config& config, std::string& source, std::string& error_line) {
    if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir) {
        auto from_credential = crypto::load_master_key_credential("master.key");
        if (from_credential) {
            source = "credential";
            return from_credential;
        }
        if (from_credential.error() != std::errc::no_such_file_or_directory) {
            error_line = "credential master.key: " + from_credential.error().message();
            return from_credential;
        }
    }
    auto from_file = crypto::load_master_key_file(config.master_key_file);
    source = "file";
    if (from_file) return from_file;
    error_line = "keys.master_key_file: " + config.master_key_file + ": " + from_file.error().message();
    if (from_file.error() == std::errc::no_such_file_or_directory) error_line += " (create it with: vaultmx -c FILE init)";
    if (from_file.error() == crypto::CryptoErrc::key_file_insecure) error_line += " (chmod 600, owned by the daemon's user)";
    return from_file;
}

}  // namespace

// The master key (read before anything else can fail half-way), the store's layout, the key store
// and the appliance key; the log and directory-index keys are read (held under the master key).
std::optional<StartFailure> Daemon::open_keys() {
    std::string error_line;
    auto master = load_master_key(config_, key_source_, error_line);
    if (!master) return config_failure(error_line);
    auto layout = store::StoreLayout::open(config_.data_dir, config_.store);
    if (!layout) {
        std::string line = "paths.data: " + config_.data_dir + ": " + layout.error().message();
        if (layout.error() == store::StoreErrc::not_initialised) line += " (run: vaultmx -c FILE init)";
        return config_failure(line);
    }
    layout_.emplace(std::move(*layout));
    if (auto failed = own_store_folders()) return failed;
    // Stores from before held keys derived these from the master key; they are kept wrapped under
    // it now, so that they outlive a master-key rotation.
    auto log_key = LogSpool::derive_key(master->material.view());
    if (!log_key) return runtime_failure("keys: cannot derive the log key: " + log_key.error().message());
    auto index_key = Directory::derive_index_key(master->material.view());
    if (!index_key) return runtime_failure("keys: cannot derive the directory index key: " + index_key.error().message());
    auto opened = vmx::open_keys(*layout_, std::move(*master),
                                 key_source_ == "file" ? config_.master_key_file : std::string("credential master.key"));
    if (auto* error = std::get_if<std::string>(&opened)) return config_failure(*error);
    keys_ = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
    auto held_log = keys_->held_key(log_spool_key_name, std::move(*log_key));
    if (!held_log) return runtime_failure("keys: cannot read the log key: " + held_log.error().message());
    log_key_.emplace(std::move(*held_log));
    auto held_index = keys_->held_key(directory_index_key_name, std::move(*index_key));
    if (!held_index) return runtime_failure("keys: cannot read the directory index key: " + held_index.error().message());
    index_key_.emplace(std::move(*held_index));
    if (auto r = keys_->ensure(appliance_scope, now_unix()); !r)
        return runtime_failure("keys: cannot create the appliance key: " + r.error().message());
    return std::nullopt;
}


std::optional<StartFailure> Daemon::ensure_account_keys() {
    constexpr std::size_t page_users = 1024;
    const auto keys = keys_->snapshot();
    std::map<std::uint64_t, Organisation> orgs;
    std::vector<KeyService::AccountScope> accounts;
    {
        auto txn = store::ReadTxn::begin(directory_->env());
        if (!txn) return runtime_failure("keys: cannot read the directory: " + txn.error().message());
        auto listed = directory_->list_orgs(*txn, *keys);
        if (!listed) return runtime_failure("keys: cannot read the organisations: " + listed.error().message());
        for (Organisation& o : *listed) orgs.emplace(o.id, std::move(o));
        std::optional<std::uint64_t> from = 0;
        while (from) {
            auto page = directory_->users_page(*txn, *keys, *from, page_users);
            if (!page) return runtime_failure("keys: cannot read the users: " + page.error().message());
            for (const User& u : page->users) {
                auto org = orgs.find(u.org_id);
                if (org == orgs.end()) continue;  // a half-purged organisation's leftover: its purge ends it
                accounts.push_back({u.id, crypto::scope_for(org->second.plan, org->second.id, u.id)});
            }
            from = page->next_id;
        }
    }
    auto made = keys_->ensure_accounts(accounts, now_unix());
    if (!made) return runtime_failure("keys: cannot create the account keys: " + made.error().message());
    auto migrated = keys_->accounts_migrated();
    if (!migrated) return runtime_failure("keys: cannot read the key store: " + migrated.error().message());
    if (*migrated) return std::nullopt;
    if (accounts.empty()) {
        // Nothing can be sealed under a plan scope's key any more: nothing to move.
        if (auto r = keys_->mark_accounts_migrated(); !r)
            return runtime_failure("keys: cannot write the key store: " + r.error().message());
        return std::nullopt;
    }
    account_migration_owed_ = true;
    log_event(LogLevel::info, "keys.account_migration", "users={} keys_changed={}", accounts.size(), *made);
    return std::nullopt;
}

void Daemon::start_account_migration() {
    if (!account_migration_owed_) return;
    rewrap_->migrate_accounts([this] {
        if (auto r = keys_->mark_accounts_migrated(); !r)
            log_event(LogLevel::error, "keys.account_migration_mark_failed", "error=\"{}\"", r.error().message());
        else
            log_event(LogLevel::info, "keys.account_migration_done", "");
    });
}

void Daemon::follow_shared_keys() {
    if (!layout_->shared(store::GlobalKind::keys)) return;
    const std::uint64_t now = monotonic_ms();
    if (now < next_keys_look_ms_) return;
    next_keys_look_ms_ = now + shared_keys_look_interval_ms;
    auto followed = keys_->follow_store();
    if (!followed)
        log_event(LogLevel::warn, "keys.follow_failed", "error=\"{}\"", followed.error().message());
    else if (*followed)
        log_event(LogLevel::info, "keys.followed", "scope_keys={}", keys_->records().size());
}

}  // namespace vmx
