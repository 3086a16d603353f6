// The store lane: one helper thread per shard that owns the write side of that shard's environments
// and commits with LMDB's default durable sync, so the shard never blocks on fsync.
//
// Threads: exactly one thread (the shard) calls submit(), drain_results() and acknowledge_wake();
// the lane's own thread does every write. The Envs must outlive the Lane; the shard may read them
// (ReadTxn) meanwhile.
//
// Group commit: the lane takes everything queued, applies it in ONE write transaction per
// environment, commits, and posts each request's outcome (in submission order per environment).
// A request that arrives alone is committed at once; requests that arrive while a commit runs wait
// for it and share the next one, so batches grow with load and no timer is involved.
//
// Failure policy (PLATFORM.md, fsyncgate): a success is posted only after the commit that holds the
// request returned success. MDB_MAP_FULL (from a put or the commit; LMDB reports it before writing
// anything) grows the map and retries the batch; at map_bytes_max a batch of several requests is
// retried one request per transaction, so only those that do not fit get map_full. Any other commit
// or write failure (a failed fdatasync or pwrite, a full disk) fails every request of that batch,
// and nothing is ever retried after it. Then, once the batch's outcomes are posted and before the
// lane takes its next batch, the lane closes and reopens that environment (Env::reopen, which waits
// for the readers' snapshots): after a failed sync the kernel may have dropped pages this process
// still believes written, so neither LMDB's in-process state nor the old mapping is used again. The
// reopen is logged (event store.reopened: lane, environment folder, cause, failures in a row; never
// content; the first failure of a run and then every power of two), and the first success after it
// too (store.recovered). While the reopen fails the environment stays closed: its writes get
// StoreErrc::failed, its readers StoreErrc::closed, and the lane tries again before each write to it.
// A job's error that can come from a commit (io_error, disk_full, an errno) is treated the same way.
// Disk full: ENOSPC, EDQUOT and EFBIG are disk_full; so is EIO when the environment's file system
// has less room than the batch plus disk_full_margin_bytes, because LMDB turns a short write (the
// kernel wrote what fit) into EIO. The caller answers disk_full and map_full as "full" (SMTP 452
// 4.3.1), every other failure as a temporary error (451 4.3.0).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/duration_histogram.h"
#include "core/result.h"
#include "core/spsc_queue.h"
#include "store/lmdb.h"

namespace vmx::store {

enum class WriteOpKind : std::uint8_t { put, erase, expect };

// One change of already-sealed bytes; or (expect) a guard: the key must hold exactly `value` (no
// value: be absent) when the transaction reaches it, else the whole transaction fails with
// StoreErrc::conflict and nothing of it is written. On one box a segment's writer is the only one,
// so a guard always holds; in a store shared by nodes another node may have changed the key (the
// commit of a space checks it again, atomically: store/space_txn.h).
struct WriteOp {
    WriteOpKind kind = WriteOpKind::put;
    Dbi dbi;
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> value;  // empty for erase
};

// Work that must read and write inside the writer's transaction (a temp sweep, a trash purge): runs
// on the lane thread in a transaction of its own, never batched with other requests, so its failure
// touches nothing else. It returns a count for the caller (records removed) or an error, which
// aborts the transaction. It must bound its own work (it holds the environment's write side).
using LaneTask = std::function<Result<std::uint64_t>(WriteTxn&)>;
// Work that runs its own write transactions on the lane thread (a rewrap job's step, which saves its
// position in the same transaction as its changes). Between batches, never beside another write.
using LaneJob = std::function<Result<std::uint64_t>()>;

struct WriteRequest {
    std::uint32_t env = 0;      // index into the lane's environments
    std::vector<WriteOp> ops;   // applied together, in order, in one transaction
    LaneTask task;              // when set, ops must be empty
    LaneJob job;                // when set, ops must be empty and task unset
    std::uint64_t token = 0;    // the caller's, returned in its WriteResult
};

struct WriteResult {
    std::uint64_t token = 0;
    std::uint32_t env = 0;
    std::error_code error;      // empty: durable
    std::uint64_t count = 0;    // a task's returned count
};

// See the failure policy: a failed commit with EIO counts as disk_full below this much free room
// (on top of the batch's own bytes). A heuristic: it only changes the reply (452 instead of 451).
inline constexpr std::uint64_t disk_full_margin_bytes = std::uint64_t{1} << 20;

struct LaneOptions {
    std::uint32_t queue_capacity = 4096;        // requests in flight at most ([store] lane_queue_capacity)
    std::uint32_t batch_requests_max = 4096;    // 1: one request per transaction (for comparison)
    std::size_t batch_bytes_max = std::size_t{256} << 20;  // bounds a transaction's dirty pages
    std::string thread_name = "vmx-lane";      // as top -H and perf show it (15 bytes at most)
};

// Counters; the shard or metrics read them with relaxed loads.
struct LaneStats {
    std::atomic<std::uint64_t> requests{0};       // outcomes posted
    std::atomic<std::uint64_t> transactions{0};   // commits attempted
    std::atomic<std::uint64_t> failed_commits{0};
    std::atomic<std::uint64_t> sync_failures{0};  // failed commits with EIO: a write or fdatasync failed
    std::atomic<std::uint64_t> disk_full{0};      // failed commits with disk_full
    std::atomic<std::uint64_t> map_grows{0};
    std::atomic<std::uint64_t> map_full{0};       // requests refused with map_full
    std::atomic<std::uint64_t> reopens{0};
    std::atomic<std::uint64_t> largest_batch{0};  // requests in one transaction
    std::atomic<std::uint64_t> tasks{0};          // tasks run (committed or not)
    std::atomic<std::uint64_t> failed_tasks{0};
    DurationHistogram commit_seconds;             // one transaction: writes, commit and its syncs
};

class Lane {
public:
    Lane(const std::vector<Env*>& envs, const LaneOptions& options);
    ~Lane();  // finishes every queued request, then joins the thread
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    // Starts the thread; eventfd failure is the only error.
    Result<void> start();

    // Queues a request. queue_full when queue_capacity requests are in flight (submitted and not
    // yet drained); invalid_request for an unknown env, an empty or oversized key, or a task with
    // ops. On error the request is left untouched.
    Result<void> submit(WriteRequest& request);

    // Readable (an eventfd) when outcomes wait. A shard keeps an io_uring read armed on it (the read
    // consumes the count) and, on its completion, calls drain_results() and re-arms the read; a poll()
    // user calls acknowledge_wake() before drain_results(). The lane writes the eventfd only when the
    // shard has drained since the last write, so a burst of commits costs the shard one wake-up.
    int result_fd() const noexcept { return result_fd_; }
    void acknowledge_wake() noexcept;
    // Hands every waiting outcome to fn(WriteResult&&); returns how many. Each outcome leaves the
    // in-flight count before fn runs, so fn may submit the caller's next write at once.
    template <class Fn>
    std::size_t drain_results(Fn&& fn) {
        results_woken_.exchange(false, std::memory_order_acq_rel);
        std::size_t n = 0;
        while (auto r = results_.pop()) {
            --in_flight_;
            ++n;
            fn(std::move(*r));
        }
        return n;
    }

    std::size_t in_flight() const noexcept { return in_flight_; }
    const LaneStats& stats() const noexcept { return stats_; }

private:
    struct EnvState {
        Env* env = nullptr;
        bool needs_reopen = false;
        std::error_code failure;            // the last failure, for the log
        std::uint64_t failures_in_row = 0;  // failed commits and reopens since the last success
    };

    void run();
    bool collect(std::vector<WriteRequest>& batch);
    void sleep_until_work(std::vector<WriteRequest>& batch);
    void process(std::vector<WriteRequest>& batch);
    void commit_group(std::uint32_t env, std::vector<WriteRequest*>& group);
    std::error_code apply(EnvState& state, std::vector<WriteRequest*>& group);
    std::error_code apply_once(Env& env, std::vector<WriteRequest*>& group);
    std::error_code failed_commit(EnvState& state, std::error_code error, std::size_t bytes);
    bool ensure_open(EnvState& state);
    void reopen(EnvState& state);
    void succeeded(EnvState& state);
    void run_task(WriteRequest& request);
    void run_job(WriteRequest& request);
    void post(const WriteRequest& request, std::error_code error, std::uint64_t count = 0);
    void wake_shard();

    const LaneOptions options_;
    std::vector<EnvState> envs_;
    std::vector<std::size_t> key_bytes_max_;
    SpscQueue<WriteRequest> requests_;
    SpscQueue<WriteResult> results_;
    std::size_t in_flight_ = 0;  // shard side only
    std::atomic<bool> lane_idle_{false};
    std::atomic<std::uint32_t> lane_wake_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> results_woken_{false};
    int result_fd_ = -1;
    LaneStats stats_;
    std::thread thread_;
};

}  // namespace vmx::store
