// vaultmx-portal's link to the daemon (see portal_workers.h).
#include "appliance/portald/portal_workers.h"

#include "appliance/admin/client.h"
#include "appliance/admin/protocol.h"
#include "core/log.h"

namespace vmx {
namespace {

portal::DaemonReply reply_of(const AdminReply& reply) {
    switch (reply.status) {
        case AdminStatus::ok: return {portal::DaemonStatus::ok, reply.text};
        case AdminStatus::refused: return {portal::DaemonStatus::refused, reply.text};
        case AdminStatus::forbidden:
            // The session is gone, or (a misconfiguration) this process may not use the socket.
            if (reply.text.starts_with("permission denied")) {
                log_event(LogLevel::error, "portal.daemon_forbidden", "detail=\"{}\"", reply.text);
                return {portal::DaemonStatus::failed, {}};
            }
            return {portal::DaemonStatus::signed_out, {}};
        case AdminStatus::failed:
        case AdminStatus::part: break;
    }
    return {portal::DaemonStatus::failed, reply.text};
}

}  // namespace

PortalWorkers::PortalWorkers(PortalWorkerOptions options) : options_(std::move(options)) {
    for (std::uint32_t i = 0; i < options_.shards; ++i) outboxes_.push_back(std::make_unique<WorkerOutbox<Answer>>());
}

PortalWorkers::~PortalWorkers() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
}

void PortalWorkers::start() {
    for (std::size_t i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { run(); });
}

void PortalWorkers::call(std::uint32_t shard, portal::DaemonRequest request, portal::DaemonDone done) {
    {
        std::lock_guard lock(mutex_);
        if (jobs_.size() < options_.requests_max && !stopping_) {
            jobs_.push_back(Job{shard, std::move(request), std::move(done)});
            wake_.notify_one();
            return;
        }
    }
    // Full: answered through the outbox all the same, so `done` never runs inside call().
    log_event(LogLevel::warn, "portal.daemon_queue_full", "waiting={}", options_.requests_max);
    outboxes_[shard]->post(Answer{std::move(done), {}});
}

void PortalWorkers::drain(std::uint32_t shard) {
    outboxes_[shard]->drain([](Answer&& a) { a.done(std::move(a.reply)); });
}

void PortalWorkers::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, and nothing left
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        portal::DaemonReply reply = ask(job.request);
        outboxes_[job.shard]->post(Answer{std::move(job.done), std::move(reply)});
    }
}

portal::DaemonReply PortalWorkers::ask(const portal::DaemonRequest& request) const {
    AdminRequest wire;
    wire.command = request.command;
    wire.fields = request.fields;
    wire.secret = request.secret;
    auto reply = admin_call(options_.socket_path, wire, options_.timeout_ms);
    if (!reply) {
        log_event(LogLevel::warn, "portal.daemon_unreachable", "error=\"{}\"", reply.error().message());
        return {};
    }
    return reply_of(*reply);
}

}  // namespace vmx
