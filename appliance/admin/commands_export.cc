// `user export`: a user's mailbox as mboxrd, streamed over the admin socket. The command is audited
// when the stream starts (its arguments name the user and the file the CLI writes); the pieces are
// read on the mailbox's owner shard, one step per piece: the export's state goes there in a
// MailboxExportStep and comes back with the piece, and the next step waits until the socket has
// taken it (AdminStream). Only the CLI writes the file. Control thread only.
#include <fmt/format.h>

#include <memory>

#include "appliance/admin/command_handlers.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_export.h"
#include "core/assert.h"
#include "core/log.h"
#include "store/layout.h"

namespace vmx::admin {
namespace {

class ExportStream final : public AdminStream, public std::enable_shared_from_this<ExportStream> {
public:
    ExportStream(AdminShards& shards, std::uint64_t user_id, std::string address, std::unique_ptr<MailboxExport> state)
        : shards_(shards), user_id_(user_id), address_(std::move(address)), state_(std::move(state)),
          owner_(store::owner_shard(state_->box().segment, shards.count())) {}

    void next(std::function<void(AdminPiece)> give) override {
        VMX_ASSERT(state_ != nullptr);  // the server asks again only after the last piece came
        if (state_->done()) return give(finished());
        auto step = std::make_unique<MailboxExportStep>();
        step->state = std::move(state_);
        Message m;
        m.kind = message_mailbox_export;
        m.payload = std::move(step);
        std::weak_ptr<ExportStream> self = weak_from_this();
        auto on_step = [self, give](Message& reply) {
            if (auto s = self.lock()) s->on_step(reply, give);  // gone: the peer left, the state with it
        };
        if (!shards_.calls().call(owner_, std::move(m), std::move(on_step)))
            give(stopped({AdminStatus::failed, "the mailbox's shard is busy; the export stopped, try again"}));
    }

private:
    void on_step(Message& reply, const std::function<void(AdminPiece)>& give) {
        auto* step = dynamic_cast<MailboxExportStep*>(reply.payload.get());
        if (step == nullptr || step->state == nullptr)
            return give(stopped({AdminStatus::failed, "export: the shard gave no answer"}));
        state_ = std::move(step->state);
        if (step->error) {
            log_event(LogLevel::error, "export.failed", "user={} message={} error=\"{}\"", user_id_,
                      state_->failed_message(), step->error.message());
            return give(stopped(error_reply(fmt::format("message {}", state_->failed_message()), step->error)));
        }
        bytes_ += step->piece.size();
        if (step->piece.empty()) return give(finished());
        give(AdminPiece{std::move(step->piece), std::nullopt});
    }

    AdminPiece finished() const {
        log_event(LogLevel::info, "export.done", "user={} messages={} skipped={} bytes={}", user_id_,
                  state_->messages(), state_->skipped(), bytes_);
        return stopped(ok(fmt::format("user {}: {} messages exported ({} bytes of mboxrd)\n", address_,
                                      state_->messages(), bytes_)));
    }
    static AdminPiece stopped(AdminReply reply) { return AdminPiece{{}, std::move(reply)}; }

    AdminShards& shards_;
    const std::uint64_t user_id_;
    const std::string address_;
    std::unique_ptr<MailboxExport> state_;  // null while a step is on the owner shard
    const std::uint32_t owner_;
    std::uint64_t bytes_ = 0;
};

}  // namespace

// The command table fixes the signature.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void user_export(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    const auto address = required(r, "address");
    if (c.mail == nullptr || c.shards == nullptr) return respond({AdminStatus::failed, "mailboxes are not open"});
    auto user = named_user(c, address);
    if (!user) return respond(error_reply(fmt::format("user {}", address), user.error()));
    auto account = account_of(c.directory, *c.keys.snapshot(), user->id, c.mail->segments());
    if (!account) return respond(error_reply("directory", account.error()));
    const auto trash = r.has("trash") ? ExportTrash::include : ExportTrash::exclude;
    AdminReply reply = ok("");
    reply.stream = std::make_shared<ExportStream>(*c.shards, user->id, std::string(user->address),
                                                  std::make_unique<MailboxExport>(account->mailbox, trash));
    respond(std::move(reply));
}

}  // namespace vmx::admin
