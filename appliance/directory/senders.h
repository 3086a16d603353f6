// Who a user may send as on submission (465/587): their own address and each address an admin
// listed for them (User::allowed_senders). A pure function of the user record; any thread.
#pragma once

#include <string_view>

#include "appliance/directory/records.h"

namespace vmx {

// True when `address` (an envelope sender or a From: address, as the client wrote it) is the user's
// own address or one of their allowed senders, compared ASCII-case-blind in both the local part and
// the domain. Never true for an empty address (the null sender is not anyone's to claim here).
bool may_send_as(const User& user, std::string_view address) noexcept;

}  // namespace vmx
