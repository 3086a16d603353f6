#include "store/lane.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/log.h"

namespace vmx::store {

// The queues hold at least two slots (SpscQueue's floor); in_flight_ enforces queue_capacity itself,
// so a capacity of 1 (a lane that takes one request at a time, for overload tests) works too.
Lane::Lane(const std::vector<Env*>& envs, const LaneOptions& options)
    : options_(options), requests_(std::max<std::size_t>(options.queue_capacity, 2)),
      results_(std::max<std::size_t>(options.queue_capacity, 2)) {
    VMX_ASSERT(options.batch_requests_max >= 1 && options.queue_capacity >= 1);
    for (Env* env : envs) {
        VMX_ASSERT(env != nullptr);
        envs_.push_back(EnvState{env, false, {}, 0});
        key_bytes_max_.push_back(env->key_bytes_max());
    }
}

Lane::~Lane() {
    stopping_.store(true, std::memory_order_seq_cst);
    lane_wake_.fetch_add(1, std::memory_order_seq_cst);
    lane_wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    if (result_fd_ >= 0) ::close(result_fd_);
}

Result<void> Lane::start() {
    VMX_ASSERT(!thread_.joinable());
    result_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (result_fd_ < 0) return fail_errno(errno);
    thread_ = std::thread([this] { run(); });
    pthread_setname_np(thread_.native_handle(), options_.thread_name.substr(0, 15).c_str());
    return {};
}

Result<void> Lane::submit(WriteRequest& request) {
    if (request.env >= envs_.size()) return fail(StoreErrc::invalid_request);
    if ((request.task || request.job) && !request.ops.empty()) return fail(StoreErrc::invalid_request);
    if (request.task && request.job) return fail(StoreErrc::invalid_request);
    for (const WriteOp& op : request.ops)
        if (op.key.empty() || op.key.size() > key_bytes_max_[request.env]) return fail(StoreErrc::invalid_request);
    if (in_flight_ >= options_.queue_capacity || !requests_.push(request)) return fail(StoreErrc::queue_full);
    ++in_flight_;
    // Pairs with the fence in sleep_until_work: either the lane sees the request, or we see it idle.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (lane_idle_.load(std::memory_order_seq_cst)) {
        lane_wake_.fetch_add(1, std::memory_order_seq_cst);
        lane_wake_.notify_one();
    }
    return {};
}

void Lane::acknowledge_wake() noexcept {
    std::uint64_t count = 0;
    [[maybe_unused]] const ssize_t got = ::read(result_fd_, &count, sizeof count);  // EAGAIN: nothing to clear
}

// --- the lane's thread ---------------------------------------------------------------------------

void Lane::run() {
    std::vector<WriteRequest> batch;
    batch.reserve(std::min<std::size_t>(options_.batch_requests_max, options_.queue_capacity));
    for (;;) {
        batch.clear();
        if (!collect(batch)) {
            if (stopping_.load(std::memory_order_seq_cst)) {
                if (!collect(batch)) return;  // a request queued just before the stop still commits
            } else {
                sleep_until_work(batch);
                if (batch.empty()) continue;
                collect(batch);  // whatever arrived together with the request that woke us
            }
        }
        process(batch);
    }
}

// Everything queued now, up to the batch limits. False when nothing was queued.
bool Lane::collect(std::vector<WriteRequest>& batch) {
    std::size_t bytes = 0;
    while (batch.size() < options_.batch_requests_max && bytes < options_.batch_bytes_max) {
        auto request = requests_.pop();
        if (!request) break;
        for (const WriteOp& op : request->ops) bytes += op.key.size() + op.value.size();
        batch.push_back(std::move(*request));
    }
    return !batch.empty();
}

// Sleeps until submit() or the destructor wakes the lane; a request found while announcing
// idleness is put in `batch` instead.
void Lane::sleep_until_work(std::vector<WriteRequest>& batch) {
    const std::uint32_t seen = lane_wake_.load(std::memory_order_seq_cst);
    lane_idle_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Re-check after announcing idleness: a request pushed before the announcement is seen here.
    if (auto request = requests_.pop()) {
        lane_idle_.store(false, std::memory_order_relaxed);
        batch.push_back(std::move(*request));
        return;
    }
    if (!stopping_.load(std::memory_order_seq_cst)) lane_wake_.wait(seen, std::memory_order_seq_cst);
    lane_idle_.store(false, std::memory_order_relaxed);
}

// One transaction per environment, environments in index order, requests in submission order;
// then each task in a transaction of its own.
void Lane::process(std::vector<WriteRequest>& batch) {
    std::vector<WriteRequest*> group;
    for (std::uint32_t env = 0; env < envs_.size(); ++env) {
        group.clear();
        for (WriteRequest& r : batch)
            if (r.env == env && !r.task && !r.job) group.push_back(&r);
        if (!group.empty()) commit_group(env, group);
    }
    bool ran = false;
    for (WriteRequest& r : batch) {
        if (r.task) run_task(r);
        else if (r.job) run_job(r);
        else continue;
        ran = true;
    }
    if (ran) wake_shard();
    // Outcomes first (the clients' 4xx need not wait), then the reopen the failure policy demands.
    for (EnvState& state : envs_)
        if (state.needs_reopen) reopen(state);
}

// A task's own transaction. map_full grows the map and runs the task again from the start (the
// aborted attempt wrote nothing); a failed commit marks the environment for reopening, as apply()
// does; a task's own error just aborts.
void Lane::run_task(WriteRequest& request) {
    EnvState& state = envs_[request.env];
    stats_.tasks.fetch_add(1, std::memory_order_relaxed);
    auto failed = [&](std::error_code error) {
        stats_.failed_tasks.fetch_add(1, std::memory_order_relaxed);
        post(request, error);
    };
    if (!ensure_open(state)) return failed(StoreErrc::failed);
    for (;;) {
        auto txn = WriteTxn::begin(*state.env);
        if (!txn) return failed(txn.error());
        auto count = request.task(*txn);
        if (!count && count.error() == StoreErrc::map_full) {
            txn->abort();
            if (auto grown = state.env->grow(); !grown) return failed(count.error());
            stats_.map_grows.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!count) return failed(count.error());
        auto committed = txn->commit();
        stats_.transactions.fetch_add(1, std::memory_order_relaxed);
        if (!committed && committed.error() == StoreErrc::map_full) {
            if (auto grown = state.env->grow(); !grown) return failed(committed.error());
            stats_.map_grows.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        if (!committed) return failed(failed_commit(state, committed.error(), 0));
        succeeded(state);
        return post(request, {}, *count);
    }
}

void Lane::commit_group(std::uint32_t env, std::vector<WriteRequest*>& group) {
    EnvState& state = envs_[env];
    std::uint64_t largest = stats_.largest_batch.load(std::memory_order_relaxed);
    if (group.size() > largest) stats_.largest_batch.store(group.size(), std::memory_order_relaxed);
    const std::error_code error = apply(state, group);
    if (error == StoreErrc::map_full && group.size() > 1) {
        // At the maximum map size: give each request its own chance, so small ones still fit.
        for (WriteRequest* r : group) {
            std::vector<WriteRequest*> one{r};
            post(*r, apply(state, one));
        }
    } else {
        for (WriteRequest* r : group) post(*r, error);
    }
    wake_shard();
}

// Commits the group, growing the map as needed. Never retries after any failure but map_full.
std::error_code Lane::apply(EnvState& state, std::vector<WriteRequest*>& group) {
    if (!ensure_open(state)) return StoreErrc::failed;
    Env& env = *state.env;
    for (;;) {
        const std::error_code error = apply_once(env, group);
        if (!error) {
            succeeded(state);
            return {};
        }
        // Another node changed a guarded key: nothing was written and the environment is sound.
        if (error == StoreErrc::conflict) return error;
        if (error != StoreErrc::map_full) {
            std::size_t bytes = 0;
            for (const WriteRequest* r : group)
                for (const WriteOp& op : r->ops) bytes += op.key.size() + op.value.size();
            return failed_commit(state, error, bytes);
        }
        if (auto grown = env.grow(); !grown) return error;  // at map_bytes_max
        stats_.map_grows.fetch_add(1, std::memory_order_relaxed);
    }
}

namespace {

// A guard's verdict inside the transaction (see WriteOpKind::expect).
std::error_code check_expectation(WriteTxn& txn, const WriteOp& op) {
    auto current = txn.get(op.dbi, op.key);
    if (!current) {
        if (current.error() != StoreErrc::not_found) return current.error();
        return op.value.empty() ? std::error_code{} : make_error_code(StoreErrc::conflict);
    }
    return std::equal(current->begin(), current->end(), op.value.begin(), op.value.end())
               ? std::error_code{}
               : make_error_code(StoreErrc::conflict);
}

}  // namespace

std::error_code Lane::apply_once(Env& env, std::vector<WriteRequest*>& group) {
    const std::uint64_t started_us = monotonic_us();
    auto txn = WriteTxn::begin(env);
    if (!txn) return txn.error();
    for (const WriteRequest* r : group) {
        for (const WriteOp& op : r->ops) {
            if (op.kind == WriteOpKind::put) {
                if (auto p = txn->put(op.dbi, op.key, op.value); !p) return p.error();
            } else if (op.kind == WriteOpKind::expect) {
                if (auto e = check_expectation(*txn, op)) return e;
            } else {
                if (auto e = txn->erase(op.dbi, op.key); !e) return e.error();
            }
        }
    }
    auto committed = txn->commit();
    stats_.transactions.fetch_add(1, std::memory_order_relaxed);
    stats_.commit_seconds.observe_us(monotonic_us() - started_us);
    if (!committed) return committed.error();
    return {};
}

void Lane::run_job(WriteRequest& request) {
    EnvState& state = envs_[request.env];
    stats_.tasks.fetch_add(1, std::memory_order_relaxed);
    if (!ensure_open(state)) {
        stats_.failed_tasks.fetch_add(1, std::memory_order_relaxed);
        return post(request, StoreErrc::failed);
    }
    auto count = request.job();
    if (!count) {
        stats_.failed_tasks.fetch_add(1, std::memory_order_relaxed);
        // The job commits by itself: an error that can come from its commit is a failed commit.
        const std::error_code error = count.error();
        const bool from_commit = error == StoreErrc::io_error || error == StoreErrc::disk_full ||
                                 error.category() == std::system_category();
        return post(request, from_commit ? failed_commit(state, error, 0) : error);
    }
    post(request, {}, *count);
}

// A commit (or a write inside it) failed with something other than map_full: the environment is
// reopened before its next use (the failure policy). A short write on a full file system comes back
// from LMDB as EIO; it is reported as the disk_full it is.
std::error_code Lane::failed_commit(EnvState& state, std::error_code error, std::size_t bytes) {
    if (error == StoreErrc::io_error) {
        auto free = state.env->free_bytes();
        if (free && *free < bytes + disk_full_margin_bytes) error = StoreErrc::disk_full;
    }
    state.needs_reopen = true;
    state.failure = error;
    ++state.failures_in_row;
    stats_.failed_commits.fetch_add(1, std::memory_order_relaxed);
    if (error == StoreErrc::disk_full) stats_.disk_full.fetch_add(1, std::memory_order_relaxed);
    if (error == StoreErrc::io_error) stats_.sync_failures.fetch_add(1, std::memory_order_relaxed);
    return error;
}

// Reopens an environment a failure left unusable (a reopen that failed at the end of the last batch
// is tried again here, before the write). False while it cannot be reopened.
bool Lane::ensure_open(EnvState& state) {
    if (state.needs_reopen) reopen(state);
    return !state.needs_reopen;
}

// Logged for the first failure of a run and then at every power of two, so a disk that stays full
// under load costs the log a few lines, not one per batch. The files are opened by path again, by
// the service user the daemon has become: it must be able to reach the data folder (a reopen that
// cannot is logged as store.reopen_failed, error="Permission denied").
void Lane::reopen(EnvState& state) {
    const std::uint64_t n = state.failures_in_row;
    const bool log = (n & (n - 1)) == 0;
    if (auto r = state.env->reopen(); !r) {
        ++state.failures_in_row;
        if (log)
            log_event(LogLevel::error, "store.reopen_failed", "lane={} env={} cause=\"{}\" error=\"{}\" failures_in_row={}",
                      options_.thread_name, state.env->path(), state.failure.message(), r.error().message(), n);
        return;
    }
    state.needs_reopen = false;
    stats_.reopens.fetch_add(1, std::memory_order_relaxed);
    if (log)
        log_event(LogLevel::warn, "store.reopened", "lane={} env={} cause=\"{}\" failures_in_row={}", options_.thread_name,
                  state.env->path(), state.failure.message(), n);
}

void Lane::succeeded(EnvState& state) {
    if (state.failures_in_row == 0) return;
    log_event(LogLevel::info, "store.recovered", "lane={} env={} failures={}", options_.thread_name, state.env->path(),
              state.failures_in_row);
    state.failures_in_row = 0;
    state.failure = {};
}

void Lane::post(const WriteRequest& request, std::error_code error, std::uint64_t count) {
    if (error == StoreErrc::map_full) stats_.map_full.fetch_add(1, std::memory_order_relaxed);
    WriteResult result{request.token, request.env, error, count};
    // Cannot fail: at most queue_capacity requests are in flight and the queues are that large.
    const bool pushed = results_.push(result);
    VMX_ASSERT(pushed);
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
}

void Lane::wake_shard() {
    if (results_woken_.exchange(true, std::memory_order_acq_rel)) return;  // a wake is pending
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t wrote = ::write(result_fd_, &one, sizeof one);
}

}  // namespace vmx::store
