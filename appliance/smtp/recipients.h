// The directory look-up behind RCPT, for the MX and for submission alike: a local user (a closed
// account is refused as a disabled mailbox, 550 5.2.1; a full mailbox is refused while the sender can still be told), a local
// domain without that user, or an address elsewhere (the MX refuses it: no open relay; submission
// relays it for the logged-in user). Shard thread: short read transactions.
#pragma once

#include <string_view>

#include "core/result.h"
#include "net/smtp/session.h"

namespace vmx {

class Directory;
class ShardStore;

enum class Elsewhere : std::uint8_t {
    refuse,  // the MX: 550 5.7.1 relay access denied
    relay,   // submission: accepted as a remote recipient (user id 0)
};

// A bare "postmaster" (no domain, RFC 5321 4.5.1) is looked up as `postmaster`, the mailbox
// [smtp] postmaster names: it must be a local user to be accepted.
smtp::RcptDecision look_up_recipient(const Directory& directory, ShardStore& store, const smtp::Address& rcpt,
                                     Elsewhere elsewhere, std::string_view postmaster);

// Whether `domain` (lower case) is one of the appliance's domains; an error when the directory
// cannot be read.
Result<bool> is_local_domain(const Directory& directory, ShardStore& store, std::string_view domain);

}  // namespace vmx
