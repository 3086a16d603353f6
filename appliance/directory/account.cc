// The account look-up (see account.h).
#include "appliance/directory/account.h"

#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {
namespace {

template <class FindUser>
Result<Account> account_with(const Directory& directory, const crypto::KeySet& keys, std::uint32_t segments,
                             FindUser find_user) {
    auto txn = store::ReadTxn::begin(directory.env());
    if (!txn) return fail(txn.error());
    auto user = find_user(*txn);
    if (!user) return fail(user.error());
    auto org = directory.org(*txn, keys, user->org_id);
    if (!org) return fail(org.error());
    Account out;
    out.mailbox = mailbox_of(user->id, segments);
    out.user = std::move(*user);
    out.org = std::move(*org);
    return out;
}

}  // namespace

store::MailboxRef mailbox_of(std::uint64_t user_id, std::uint32_t segments) {
    return {user_id, store::segment_of(user_id, segments), crypto::account_scope(user_id)};
}

Result<Account> find_account(const Directory& directory, const crypto::KeySet& keys, std::string_view address,
                             std::uint32_t segments) {
    return account_with(directory, keys, segments,
                        [&](store::ReadTxn& txn) { return directory.find_user(txn, keys, address); });
}

Result<Account> account_of(const Directory& directory, const crypto::KeySet& keys, std::uint64_t user_id,
                           std::uint32_t segments) {
    return account_with(directory, keys, segments, [&](store::ReadTxn& txn) { return directory.user(txn, keys, user_id); });
}

bool no_such_account(std::error_code error) noexcept {
    return error == DirectoryErrc::unknown_user || error == DirectoryErrc::invalid_address ||
           error == DirectoryErrc::unknown_domain || error == DirectoryErrc::invalid_domain;
}

}  // namespace vmx
