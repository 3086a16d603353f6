// Admin commands on who a user may send as on submission: add, remove and list the addresses besides
// their own (User::allowed_senders; the rule itself is may_send_as in directory/senders.h). The
// user's own address is implied, so adding it is refused rather than stored. Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/directory_view.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "core/patterns.h"

namespace vmx::admin {
namespace {

// A refusal names what it is about: the user for an unknown user or a full list, the sender otherwise.
AdminReply sender_refusal(std::string_view address, std::string_view sender, std::error_code e) {
    const bool about_user = e == DirectoryErrc::unknown_user || e == DirectoryErrc::too_many_senders ||
                            e.category() != directory_category();
    return error_reply(about_user ? fmt::format("user {}", address) : fmt::format("sender {}", sender), e);
}

// The daemon re-checks both addresses (the socket is the trust boundary) so each refusal names the
// right one: the directory answers invalid_address for either.
std::optional<AdminReply> check_addresses(std::string_view address, std::string_view sender) {
    if (!matches(Pattern::address, address))
        return error_reply(fmt::format("user {}", address), DirectoryErrc::invalid_address);
    if (!matches(Pattern::address, sender))
        return error_reply(fmt::format("sender {}", sender), DirectoryErrc::invalid_address);
    return std::nullopt;
}

}  // namespace

AdminReply sender_add(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    const auto sender = required(r, "sender");
    if (auto bad = check_addresses(address, sender)) return *bad;
    auto user = c.directory.add_sender(*c.keys.snapshot(), address, sender);
    if (!user) return sender_refusal(address, sender, user.error());
    return ok(fmt::format("user {}: may now send as {} ({} of at most {} allowed senders)\n", user->address,
                          lower_ascii(sender), user->allowed_senders.size(), allowed_senders_per_user_max));
}

AdminReply sender_remove(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    const auto sender = required(r, "sender");
    if (auto bad = check_addresses(address, sender)) return *bad;
    auto user = c.directory.remove_sender(*c.keys.snapshot(), address, sender);
    if (!user) return sender_refusal(address, sender, user.error());
    return ok(fmt::format("user {}: may no longer send as {}\n", user->address, lower_ascii(sender)));
}

// One address per line, the user's own first and marked "(own address)"; JSON marks it "own":true.
AdminReply sender_list(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    if (r.json) {
        std::string out = fmt::format(R"([{{"address":{},"own":true}})", json_string(user->address));
        for (const auto& s : user->allowed_senders) out += fmt::format(R"(,{{"address":{},"own":false}})", json_string(s));
        return ok(out + "]\n");
    }
    std::string out = fmt::format("{}\t(own address)\n", user->address);
    for (const auto& s : user->allowed_senders) out += s + "\n";
    return ok(out);
}

}  // namespace vmx::admin
