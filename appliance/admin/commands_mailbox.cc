// Admin commands on a user's mailbox: list its messages, restore one from the trash. A restore
// is done by the mailbox's owner shard (its only writer); the reply waits for that shard's answer
// (on_admin_shard_reply). Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_reads.h"

#include <fmt/format.h>

#include <charconv>
#include <memory>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "appliance/common/messages.h"
#include "store/errc.h"
#include "store/layout.h"
#include "store/mailbox.h"

namespace vmx::admin {
namespace {

// The user's mailbox: where it lives and under which key.
Result<store::MailboxRef> mailbox_of(AdminContext& c, const User& user) {
    auto account = account_of(c.directory, *c.keys.snapshot(), user.id, c.mail->segments());
    if (!account) return fail(account.error());
    return account->mailbox;
}

}  // namespace

AdminReply user_mailbox(AdminContext& c, const AdminRequest& r) {
    const auto address = required(r, "address");
    if (c.mail == nullptr) return {AdminStatus::failed, "mailboxes are not open"};
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    auto box = mailbox_of(c, *user);
    if (!box) return error_reply("directory", box.error());
    const auto trash = r.has("trash") ? store::ListTrash::include : store::ListTrash::exclude;
    auto messages = list_mailbox(*c.mail, *c.keys.snapshot(), *box, trash);
    if (!messages) return error_reply("mailbox", messages.error());
    std::string out;
    for (const store::MessageInfo& m : *messages) {
        const bool live = m.state == store::MessageState::live;
        if (r.json)
            out += fmt::format(R"({}{{"id":{},"size":{},"uidl":{},"state":{},"arrival":{},"deleted":{}}})",
                               out.empty() ? "" : ",", m.id, m.size_bytes, json_string(m.uidl),
                               json_string(live ? "live" : "trash"), json_string(format_time(m.arrival_unix)),
                               live ? "null" : json_string(format_time(m.deleted_unix)));
        else
            out += fmt::format("{}\tsize={}\tuidl={}\tstate={}\tarrival={}{}\n", m.id, m.size_bytes, m.uidl,
                               live ? "live" : "trash", format_time(m.arrival_unix),
                               live ? std::string() : "\tdeleted=" + format_time(m.deleted_unix));
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

// Restores from trash on the mailbox's owner shard (its only writer); answers when that is durable.
// The command table fixes the signature; the completion takes a copy of `respond` because a busy
// shard keeps nothing and the last line still answers through it.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void user_restore(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const auto address = required(r, "address");
    std::uint64_t id = 0;
    const auto id_text = required(r, "id");
    if (auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        ec != std::errc() || end != id_text.data() + id_text.size() || id == 0)
        return respond(refused(fmt::format("message id {}: not a message id (see: user mailbox --trash)", id_text)));
    if (c.mail == nullptr || c.shards == nullptr) return respond({AdminStatus::failed, "mailboxes are not open"});
    auto user = named_user(c, address);
    if (!user) return respond(error_reply(fmt::format("user {}", address), user.error()));
    auto box = mailbox_of(c, *user);
    if (!box) return respond(error_reply("directory", box.error()));
    auto payload = std::make_unique<MailboxRestore>();
    payload->box = *box;
    payload->message_id = id;
    Message m;
    m.kind = message_mailbox_restore;
    m.payload = std::move(payload);
    auto restored = [respond, address = std::string(user->address), id](Message& reply) {
        const auto* done = static_cast<const MailboxRestored*>(reply.payload.get());
        const std::error_code error = done ? done->error : std::make_error_code(std::errc::io_error);
        if (!error) return respond(ok(fmt::format("user {}: message {} restored\n", address, id)));
        if (error == store::StoreErrc::invalid_request) return respond(refused("that message is not in the trash"));
        if (error == store::StoreErrc::not_found) return respond(refused("no such message (purged, or never there)"));
        respond(error_reply("mailbox", error));
    };
    if (!c.shards->calls().call(store::owner_shard(box->segment, c.shards->count()), std::move(m), std::move(restored)))
        respond({AdminStatus::failed, "the mailbox's shard is busy; try again"});
}

}  // namespace vmx::admin

