// vaultmx-portal's link to vaultmxd (portal::DaemonLink): a few threads, each sending one request at
// a time on the daemon's user-scoped socket (a blocking call with a deadline), and one outbox per
// shard that carries answers back to the shard that asked (its loop watches the outbox's eventfd).
// Limits: requests_max waiting (more are answered `unreachable` at once, so a stuck daemon costs a
// page an error, never memory); every call has timeout_ms, and every answer is one reply frame (an
// export's download too: the portal asks for it a part at a time). Threads: call() and drain() on
// shard threads, the workers on their own.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "appliance/common/worker_outbox.h"
#include "appliance/portal/daemon_link.h"

namespace vmx {

struct PortalWorkerOptions {
    std::string socket_path;
    std::size_t threads = 4;
    std::uint32_t shards = 1;
    int timeout_ms = 30000;
    std::size_t requests_max = 1024;
};

class PortalWorkers final : public portal::DaemonLink {
public:
    explicit PortalWorkers(PortalWorkerOptions options);
    ~PortalWorkers() override;  // stops and joins the threads
    PortalWorkers(const PortalWorkers&) = delete;
    PortalWorkers& operator=(const PortalWorkers&) = delete;

    void start();
    void call(std::uint32_t shard, portal::DaemonRequest request, portal::DaemonDone done) override;
    // The shard's outbox: watch fd(), then drain() runs the answers' callbacks.
    int fd(std::uint32_t shard) const { return outboxes_[shard]->fd(); }
    void drain(std::uint32_t shard);

private:
    struct Job {
        std::uint32_t shard = 0;
        portal::DaemonRequest request;
        portal::DaemonDone done;
    };
    struct Answer {
        portal::DaemonDone done;
        portal::DaemonReply reply;
    };
    void run();
    portal::DaemonReply ask(const portal::DaemonRequest& request) const;

    PortalWorkerOptions options_;
    std::vector<std::unique_ptr<WorkerOutbox<Answer>>> outboxes_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace vmx
