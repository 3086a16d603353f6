// RCPT's directory look-up (see recipients.h).
#include "appliance/smtp/recipients.h"

#include "appliance/directory/account.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/directory_view.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"

namespace vmx {

RecipientSource recipient_source(const Directory& directory, ShardStore& store) {
    return {directory, store_view(store), store.keys_snapshot()};
}

smtp::RcptDecision look_up_recipient(const RecipientSource& source, const smtp::Address& rcpt, Elsewhere elsewhere,
                                     std::string_view postmaster) {
    using V = smtp::RcptVerdict;
    if (rcpt.domain.empty()) {
        const std::size_t at = postmaster.rfind('@');
        if (at == std::string_view::npos || at == 0 || at + 1 == postmaster.size()) return {V::unknown_user, 0};
        const smtp::Address mailbox{postmaster, postmaster.substr(0, at), postmaster.substr(at + 1), rcpt.smtputf8};
        // Only a local mailbox: the postmaster of this server is never relayed elsewhere.
        return look_up_recipient(source, mailbox, Elsewhere::refuse, {});
    }
    auto view = DirectoryView::open(source.directory, source.keys);
    if (!view) return {V::temp_failure, 0};
    // The user first: a local recipient (the common case) costs one look-up; only a miss asks
    // whether the domain is ours, to tell "no such user" from an address elsewhere.
    auto user = view->find_user(rcpt.text);
    if (!user) {
        if (!no_such_account(user.error())) return {V::temp_failure, 0};
        auto domain = view->find_domain(rcpt.domain);
        if (domain) return {V::unknown_user, 0};
        if (!no_such_account(domain.error())) return {V::temp_failure, 0};
        return {elsewhere == Elsewhere::relay ? V::accepted : V::not_local, 0};
    }
    if (user->state == UserState::closed) return {V::disabled, 0};  // its domain stays ours: no relay
    if (user->quota_bytes == 0) return {V::accepted, user->id};
    view->end();
    auto state = mailbox_state(source.mail, *source.keys, mailbox_of(user->id, source.mail.segments()));
    if (!state) return {V::temp_failure, 0};
    if (state->live_bytes >= user->quota_bytes) return {V::over_quota, user->id};
    return {V::accepted, user->id};
}

Result<bool> is_local_domain(const RecipientSource& source, std::string_view domain) {
    auto view = DirectoryView::open(source.directory, source.keys);
    if (!view) return fail(view.error());
    auto found = view->find_domain(domain);
    if (found) return true;
    if (no_such_account(found.error())) return false;
    return fail(found.error());
}

}  // namespace vmx
