// LeaseKeeper (see lease_keeper.h): one thread takes, renews and gives back this process's leases.
#include "store/lease_keeper.h"

#include <algorithm>
#include <vector>

#include "core/log.h"

namespace vmx::store {

namespace {

// Renewals at most a half of the duration apart, and at least 1 ms.
LeaseOptions checked(LeaseOptions o) {
    o.duration_ms = std::max<std::uint32_t>(o.duration_ms, 2);
    o.renew_ms = std::clamp<std::uint32_t>(o.renew_ms, 1, o.duration_ms / 2);
    return o;
}

}  // namespace

LeaseKeeper::LeaseKeeper(std::vector<Space*> spaces, std::string holder, LeaseOptions options, Lost lost)
    : spaces_(std::move(spaces)), holder_(std::move(holder)), options_(checked(options)), lost_(std::move(lost)) {}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void LeaseKeeper::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

bool LeaseKeeper::acquire(std::uint32_t space, std::string name, Done done) {
    if (space >= spaces_.size()) return false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.queue_max) return false;
        queue_.push_back(Request{space, std::move(name), std::move(done)});
    }
    wake_.notify_one();
    return true;
}

void LeaseKeeper::release(std::uint32_t space, std::string name) {
    if (space >= spaces_.size()) return;
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(Request{space, std::move(name), nullptr});
    }
    wake_.notify_one();
}

std::size_t LeaseKeeper::held() const {
    std::lock_guard lock(mutex_);
    return held_count_;
}

void LeaseKeeper::serve(Request& r) {
    Space& space = *spaces_[r.space];
    if (!r.done) {
        if (held_.erase(r.name) == 0) return;  // never granted, or lost already
        counted();
        if (auto gone = space.release_lease(r.name, holder_); !gone)
            log_event(LogLevel::warn, "store.lease_release_failed", "lease={} error=\"{}\"", r.name, gone.error().message());
        return;
    }
    const auto now = Clock::now();
    auto took = space.acquire_lease(r.name, holder_, options_.duration_ms);
    if (!took) {
        if (took.error() != StoreErrc::lease_busy)
            log_event(LogLevel::warn, "store.lease_unavailable", "lease={} error=\"{}\"", r.name, took.error().message());
        return r.done(took.error() == StoreErrc::lease_busy ? LeaseOutcome::busy : LeaseOutcome::unavailable);
    }
    // Counted from before the request: the cluster's clock started no earlier.
    held_[r.name] = Held{r.space, now + std::chrono::milliseconds(options_.renew_ms),
                         now + std::chrono::milliseconds(options_.duration_ms - options_.renew_ms)};
    counted();
    r.done(LeaseOutcome::granted);
}

void LeaseKeeper::renew_due(Clock::time_point now) {
    std::vector<std::string> lost;
    for (auto& [name, held] : held_) {
        if (held.renew_at > now) continue;
        const auto asked = Clock::now();
        auto renewed = spaces_[held.space]->acquire_lease(name, holder_, options_.duration_ms);
        if (renewed) {
            held.renew_at = asked + std::chrono::milliseconds(options_.renew_ms);
            held.safe_until = asked + std::chrono::milliseconds(options_.duration_ms - options_.renew_ms);
            continue;
        }
        if (renewed.error() == StoreErrc::lease_busy || Clock::now() >= held.safe_until) {
            log_event(LogLevel::warn, "store.lease_lost", "lease={} error=\"{}\"", name, renewed.error().message());
            lost.push_back(name);
        } else {
            held.renew_at = Clock::now() + std::chrono::milliseconds(options_.renew_ms / 4 + 1);  // try again soon
        }
    }
    for (const auto& name : lost) {
        held_.erase(name);
        counted();
        lost_(name);
    }
}

void LeaseKeeper::counted() {
    std::lock_guard lock(mutex_);
    held_count_ = held_.size();
}

void LeaseKeeper::give_back_all() {
    for (const auto& [name, held] : held_) (void)spaces_[held.space]->release_lease(name, holder_);
    held_.clear();
    counted();
}

void LeaseKeeper::run() {
    for (;;) {
        std::deque<Request> batch;
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            auto next = Clock::time_point::max();
            for (const auto& [name, held] : held_) next = std::min(next, held.renew_at);
            auto ready = [this] { return stopping_ || !queue_.empty(); };
            if (next == Clock::time_point::max()) {
                wake_.wait(lock, ready);
            } else {
                wake_.wait_until(lock, next, ready);
            }
            batch.swap(queue_);
            stopping = stopping_;
        }
        for (auto& r : batch) {
            if (stopping && r.done) {
                r.done(LeaseOutcome::unavailable);
                continue;
            }
            serve(r);
        }
        if (stopping) return give_back_all();
        renew_due(Clock::now());
    }
}

}  // namespace vmx::store
