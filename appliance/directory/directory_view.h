// One consistent view of the directory for one admin command (a read transaction and a key
// snapshot held together), so the rooms above directory/ read organisations, domains, users and
// login history without an LMDB type. Any thread; short-lived (a view pins its snapshot's pages
// until it is destroyed or end() is called, so it is never kept across a write).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lmdb.h"

namespace vmx {

class DirectoryView {
public:
    static Result<DirectoryView> open(const Directory& directory, std::shared_ptr<const crypto::KeySet> keys);

    Result<User> find_user(std::string_view address) { return directory_->find_user(txn_, *keys_, address); }
    Result<User> user(std::uint64_t id) { return directory_->user(txn_, *keys_, id); }
    Result<Organisation> find_org(std::string_view name) { return directory_->find_org(txn_, *keys_, name); }
    Result<Organisation> org(std::uint64_t id) { return directory_->org(txn_, *keys_, id); }
    Result<Domain> find_domain(std::string_view name) { return directory_->find_domain(txn_, *keys_, name); }
    Result<std::vector<Organisation>> orgs() { return directory_->list_orgs(txn_, *keys_); }
    Result<std::vector<Domain>> domains() { return directory_->list_domains(txn_, *keys_); }
    Result<std::vector<User>> users(std::optional<std::string_view> domain) {
        return directory_->list_users(txn_, *keys_, domain);
    }
    // A user's login attempts (the history lives in the directory's environment).
    Result<std::vector<LoginEvent>> logins(const LoginHistory& history, std::uint64_t user_id, std::int64_t since_unix,
                                           bool failures_only, std::size_t max) {
        return history.read(txn_, *keys_, user_id, since_unix, failures_only, max);
    }
    // Releases the snapshot before a write that follows (the view refuses further reads).
    void end() { txn_.reset(); }

private:
    DirectoryView(const Directory& directory, std::shared_ptr<const crypto::KeySet> keys, store::ReadTxn txn)
        : directory_(&directory), keys_(std::move(keys)), txn_(std::move(txn)) {}

    const Directory* directory_;
    std::shared_ptr<const crypto::KeySet> keys_;
    store::ReadTxn txn_;
};

inline Result<DirectoryView> DirectoryView::open(const Directory& directory, std::shared_ptr<const crypto::KeySet> keys) {
    auto txn = store::ReadTxn::begin(directory.env());
    if (!txn) return fail(txn.error());
    return DirectoryView(directory, std::move(keys), std::move(*txn));
}

}  // namespace vmx
