// The directory look-up behind RCPT, for the MX and for submission alike: a local user (a closed
// account is refused as a disabled mailbox, 550 5.2.1; a full mailbox is refused while the sender can still be told), a local
// domain without that user, or an address elsewhere (the MX refuses it: no open relay; submission
// relays it for the logged-in user). Short read transactions, on the shard (a store of one box) or
// on a store reader (a shared store, store_readers.h): what it reads is in RecipientSource.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "appliance/mailstore/mailbox_reads.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "net/smtp/session.h"

namespace vmx {

class Directory;
class ShardStore;

// What a look-up reads: the directory and the mail store under one key snapshot; safe to carry to
// another thread (nothing in it is the shard's own).
struct RecipientSource {
    const Directory& directory;
    MailStoreView mail;
    std::shared_ptr<const crypto::KeySet> keys;
};
RecipientSource recipient_source(const Directory& directory, ShardStore& store);

// A recipient with its own copies of the address' parts (the engine's Address points into its
// input), for a look-up that runs after check() returned.
struct RecipientQuery {
    explicit RecipientQuery(const smtp::Address& a)
        : text(a.text), local_part(a.local_part), domain(a.domain), smtputf8(a.smtputf8) {}
    smtp::Address address() const noexcept { return {text, local_part, domain, smtputf8}; }
    std::string text;
    std::string local_part;
    std::string domain;
    bool smtputf8 = false;
};

enum class Elsewhere : std::uint8_t {
    refuse,  // the MX: 550 5.7.1 relay access denied
    relay,   // submission: accepted as a remote recipient (user id 0)
};

// A bare "postmaster" (no domain, RFC 5321 4.5.1) is looked up as `postmaster`, the mailbox
// [smtp] postmaster names: it must be a local user to be accepted.
smtp::RcptDecision look_up_recipient(const RecipientSource& source, const smtp::Address& rcpt, Elsewhere elsewhere,
                                     std::string_view postmaster);

// Whether `domain` (lower case) is one of the appliance's domains; an error when the directory
// cannot be read.
Result<bool> is_local_domain(const RecipientSource& source, std::string_view domain);

}  // namespace vmx
