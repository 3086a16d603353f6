// Admin commands that act on the smtp-out queue, like Postfix's postqueue -f / postsuper -d: deliver
// deferred messages now (one, or every shard's), or delete one without delivering it. The entry's
// shard does the work (its delivery agent owns the entry); the reply waits for it. Audited as every
// admin command is. smtp-in entries are delivered locally and retried on their own; they are
// neither retried nor deleted here. Control thread only.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include <memory>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/message_kinds.h"
#include "appliance/common/messages.h"
#include "appliance/mailstore/queue_reads.h"
#include "store/errc.h"
#include "store/layout.h"

namespace vmx::admin {
namespace {

// The smtp-out entry named by the request's id, or the reply that refuses it.
std::variant<QueuedMessage, AdminReply> outbound_entry(AdminContext& c, std::string_view id) {
    if (c.mail == nullptr || c.shards == nullptr) return AdminReply{AdminStatus::failed, "queues are not open"};
    auto entry = find_queued(*c.mail, *c.keys.snapshot(), id);
    if (!entry && entry.error() == store::StoreErrc::not_found)
        return refused(fmt::format("queue id {}: no queued message has this id (see: queue list)", id));
    if (!entry) return error_reply("queues", entry.error());
    if (entry->kind != store::QueueKind::smtp_out)
        return refused(fmt::format("queue id {}: an smtp-in entry (local delivery retries it on its own)", id));
    return std::move(*entry);
}

enum class Action : std::uint8_t { retry_one, retry_all, remove };

Message action_message(Action action, const QueuedMessage* entry) {
    auto payload = std::make_unique<QueueAction>();
    payload->remove = action == Action::remove;
    payload->all = action == Action::retry_all;
    if (entry) {
        payload->segment = entry->segment;
        payload->entry_id = entry->entry_id;
    }
    Message m;
    m.kind = message_queue_action;
    m.payload = std::move(payload);
    return m;
}

const QueueActionDone* done_of(Message& reply) { return static_cast<const QueueActionDone*>(reply.payload.get()); }

}  // namespace

void queue_retry(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    if (r.has("all")) {
        if (c.shards == nullptr) return respond({AdminStatus::failed, "queues are not open"});
        // Every shard's agent; the reply sums what they made due.
        struct Tally {
            std::size_t left = 0;
            std::size_t entries = 0;
            bool busy = false;
            AdminResponder respond;
        };
        auto tally = std::make_shared<Tally>();
        tally->left = c.shards->count();
        tally->respond = std::move(respond);
        auto finish_one = [tally] {
            if (--tally->left > 0) return;
            if (tally->busy) return tally->respond({AdminStatus::failed, "a shard is busy; try again"});
            tally->respond(ok(fmt::format("{} queued message(s) will be tried now\n", tally->entries)));
        };
        for (std::uint32_t s = 0; s < c.shards->count(); ++s) {
            auto counted = [tally, finish_one](Message& reply) {
                if (const auto* done = done_of(reply)) tally->entries += done->entries;
                finish_one();
            };
            if (!c.shards->calls().call(s, action_message(Action::retry_all, nullptr), std::move(counted))) {
                tally->busy = true;
                finish_one();
            }
        }
        return;
    }
    const auto id = required(r, "id");
    auto entry = outbound_entry(c, id);
    if (auto* reply = std::get_if<AdminReply>(&entry)) return respond(std::move(*reply));
    const QueuedMessage& found = std::get<QueuedMessage>(entry);
    auto retried = [respond, id = std::string(id)](Message& reply) {
        const auto* done = done_of(reply);
        if (done && done->entries > 0) return respond(ok(fmt::format("{}: will be tried now\n", id)));
        respond(ok(fmt::format("{}: nothing deferred to try now\n", id)));
    };
    const std::uint32_t shard = store::owner_shard(found.segment, c.shards->count());
    if (!c.shards->calls().call(shard, action_message(Action::retry_one, &found), std::move(retried)))
        respond({AdminStatus::failed, "the queue's shard is busy; try again"});
}

// The command table fixes the signature; the completion takes a copy of `respond` because a busy
// shard keeps nothing and the last line still answers through it.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void queue_delete(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const auto id = required(r, "id");
    auto entry = outbound_entry(c, id);
    if (auto* reply = std::get_if<AdminReply>(&entry)) return respond(std::move(*reply));
    const QueuedMessage& found = std::get<QueuedMessage>(entry);
    auto deleted = [respond, id = std::string(id)](Message& reply) {
        const auto* done = done_of(reply);
        const std::error_code error = done ? done->error : std::make_error_code(std::errc::io_error);
        if (!error) return respond(ok(fmt::format("{}: deleted\n", id)));
        if (error == store::StoreErrc::not_found) return respond(refused(fmt::format("{}: already gone", id)));
        if (error == std::errc::device_or_resource_busy)
            return respond(refused(fmt::format("{}: being sent right now; try again in a moment", id)));
        respond(error_reply("queue", error));
    };
    const std::uint32_t shard = store::owner_shard(found.segment, c.shards->count());
    if (!c.shards->calls().call(shard, action_message(Action::remove, &found), std::move(deleted)))
        respond({AdminStatus::failed, "the queue's shard is busy; try again"});
}

}  // namespace vmx::admin
