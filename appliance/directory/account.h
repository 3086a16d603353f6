// The one look-up every part makes before it touches a user's mail: the user, the organisation whose
// plan decides who wraps the user's account key, and the mailbox (segment and the account key's
// scope) that follow from them. Written
// once here instead of at each call site. Any thread: a short read transaction of the directory
// with the caller's key snapshot.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

#include "appliance/directory/directory.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/mailbox.h"

namespace vmx {

struct Account {
    User user;
    Organisation org;
    store::MailboxRef mailbox;  // segment_of(user.id), sealed under the user's account key
};

// The mailbox of a user, in a store of `segments` segments. Its records are sealed under the
// user's account key on every plan (the plan's scope key wraps that key).
store::MailboxRef mailbox_of(std::uint64_t user_id, std::uint32_t segments);

// By login or recipient address. An address with no account gives an error for which
// no_such_account() holds (unknown user or domain, or an address that cannot be one); any other
// error is temporary (the directory could not be read).
Result<Account> find_account(const Directory& directory, const crypto::KeySet& keys, std::string_view address,
                             std::uint32_t segments);
// By user id (a queued recipient, a mailbox being purged or rewrapped).
Result<Account> account_of(const Directory& directory, const crypto::KeySet& keys, std::uint64_t user_id,
                           std::uint32_t segments);
bool no_such_account(std::error_code error) noexcept;

}  // namespace vmx
