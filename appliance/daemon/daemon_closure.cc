// The daemon's closure purge (jobs/closure_purge.h): built after the admin's view of the shards,
// ticked by the control loop, its mailbox steps sent to each mailbox's owner shard as requests
// answered by reply (common/shard_calls.h). Control thread only.
#include "appliance/common/messages.h"
#include "appliance/daemon/daemon.h"
#include "store/layout.h"

namespace vmx {

void Daemon::open_closure_purge() {
    ClosurePurgeOptions options;
    options.closure_purge_days = config_.limits.lifecycle_closure_purge_days;
    options.interval_ms = std::uint64_t{config_.store.sizing.sweep_interval_s} * 1000;
    options.segments = layout_->segments();
    EngineAdminShards& shards = *admin_shards_;
    MailboxErase erase = [&shards](const store::MailboxRef& box, std::size_t messages_max,
                                   const std::function<void(Result<std::uint64_t>)>& done) {
        auto step = std::make_unique<MailboxEraseStep>();
        step->box = box;
        step->messages_max = messages_max;
        Message m;
        m.kind = message_mailbox_erase;
        m.payload = std::move(step);
        auto on_reply = [done](Message& reply) {
            const auto* answer = dynamic_cast<const MailboxEraseDone*>(reply.payload.get());
            if (answer == nullptr) return done(fail(std::make_error_code(std::errc::io_error)));
            if (answer->error) return done(fail(answer->error));
            done(answer->remaining);
        };
        // A full inbox keeps nothing: the pass ends and the next one goes on from here.
        if (!shards.calls().call(store::owner_shard(box.segment, shards.count()), std::move(m), std::move(on_reply)))
            done(fail(std::make_error_code(std::errc::resource_unavailable_try_again)));
    };
    closure_ = std::make_unique<ClosurePurge>(*directory_, *keys_, &*logins_, [this] { recorder_->flush(); }, &*audit_,
                                              std::move(erase), std::move(options));
    closure_->erase_grants_from(&*support_grants_);
}

}  // namespace vmx
