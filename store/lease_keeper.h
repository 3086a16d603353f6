// LeaseKeeper: the leases (store/backend.h) one process holds on a set of spaces, taken, renewed and
// given back on a thread of its own, so that no shard ever waits on the storage cluster for them. In
// a store shared by several nodes it holds the POP3 maildrop locks, each in its segment's `leases`
// space (one object per segment, so logins spread over the cluster instead of queueing on one
// object): a lease held by a node that dies runs out after `duration_ms`, and another node may take
// it then. A lease's name is held in one space at a time.
//
// Threads: acquire() and release() from any thread (one short lock); `done` and `lost` run on the
// keeper's thread and must only post to their owner. The Space must outlive the keeper.
// Order: requests run in the order they were made, so a release made after an acquire of the same
// name gives back what that acquire took, whenever its answer arrives. Renewals are one round trip
// per held lease each renew_ms, made one after another: thousands of leases held at once would need
// more than this one thread.
// Limits: at most queue_max requests wait (acquire refuses the rest at once: unavailable; a release
// is never refused, so a lock cannot stay held because the queue was full). Renewal: every held lease
// is renewed each renew_ms. A lease whose renewal has not succeeded by its last safe moment (its
// expiry less renew_ms, so before any other holder can take it) is declared lost: `lost` runs once,
// the keeper forgets it, and its holder must stop acting under it.
// Failure policy: an acquire that the cluster refuses because another holder has the lease is
// answered busy; any other failure (cluster unreachable, timeout) unavailable, never granted. At
// stop every held lease is given back, so a node shut down cleanly frees its locks at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "store/backend.h"

namespace vmx::store {

enum class LeaseOutcome : std::uint8_t { granted, busy, unavailable };

struct LeaseOptions {
    std::uint32_t duration_ms = 30000;  // how long a lease outlives its holder's last renewal
    std::uint32_t renew_ms = 10000;     // < duration_ms / 2: two renewals may fail before it is lost
    std::size_t queue_max = 4096;
};

class LeaseKeeper {
public:
    using Done = std::function<void(LeaseOutcome)>;
    using Lost = std::function<void(const std::string& name)>;

    // `holder` names this process to the other holders (printable, at most 64 bytes): unique per run,
    // so a node started again never believes it still holds what its previous run took.
    // `spaces` outlive the keeper; requests name one by its index.
    LeaseKeeper(std::vector<Space*> spaces, std::string holder, LeaseOptions options, Lost lost);
    ~LeaseKeeper();  // stop()
    LeaseKeeper(const LeaseKeeper&) = delete;
    LeaseKeeper& operator=(const LeaseKeeper&) = delete;

    void start();
    // Gives back every held lease and joins the thread; requests still waiting are answered
    // unavailable (acquire) or run (release).
    void stop();

    // false when the queue is full or the space unknown (done is not called).
    bool acquire(std::uint32_t space, std::string name, Done done);
    void release(std::uint32_t space, std::string name);

    const std::string& holder() const noexcept { return holder_; }
    std::size_t held() const;  // leases held now (tests, metrics)

private:
    using Clock = std::chrono::steady_clock;
    struct Request {
        std::uint32_t space = 0;
        std::string name;
        Done done;      // empty: a release
    };
    void run();
    void serve(Request& r);
    void renew_due(Clock::time_point now);
    void give_back_all();
    void counted();  // publishes held_.size()

    const std::vector<Space*> spaces_;
    const std::string holder_;
    const LeaseOptions options_;
    const Lost lost_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Request> queue_;
    bool stopping_ = false;
    std::size_t held_count_ = 0;  // mirrors held_.size() for other threads

    // keeper thread only
    struct Held {
        std::uint32_t space = 0;
        Clock::time_point renew_at;
        Clock::time_point safe_until;  // the last moment it is surely still ours
    };
    std::unordered_map<std::string, Held> held_;
    std::thread thread_;
};

}  // namespace vmx::store
