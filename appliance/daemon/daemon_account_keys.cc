// Every user has an account key (keyring.h) before any shard seals a record for them: at each
// start the daemon makes sure of it, so a store from before account keys, or one whose directory
// was restored, gets them in one save. Records still sealed under a plan scope's key move to the
// account keys by the next clean rewrap walk (RewrapControl::migrate_accounts), which marks the
// migration done. Control thread, before the shards start.
#include <ctime>
#include <map>

#include "appliance/daemon/daemon.h"
#include "core/log.h"

namespace vmx {

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
    auto made = keys_->ensure_accounts(accounts, static_cast<std::int64_t>(std::time(nullptr)));
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

}  // namespace vmx
