// may_send_as (see senders.h). The directory stores addresses lower-case, so one side of each
// comparison is already folded; folding both keeps the check right for any caller's record.
#include "appliance/directory/senders.h"

#include <algorithm>

namespace vmx {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_ascii_case_blind(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

bool may_send_as(const User& user, std::string_view address) noexcept {
    if (address.empty()) return false;
    if (equal_ascii_case_blind(user.address, address)) return true;
    return std::any_of(user.allowed_senders.begin(), user.allowed_senders.end(),
                       [&](const std::string& sender) { return equal_ascii_case_blind(sender, address); });
}

}  // namespace vmx
