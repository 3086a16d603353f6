// StoreReaders: a few helper threads that read a store shared by nodes (RADOS) for the shards, so no
// shard thread waits on a network round trip: RCPT's directory and quota look-ups, a login's
// account, the POP3 listing and each chunk of a body. A shard hands over a read; a reader thread
// runs it and posts the answer to that shard's outbox, whose eventfd the shard watches (ShardReads
// below), so the answer runs on the shard's thread. A store of one box has no readers: LMDB's reads
// are memory-mapped, short and never wait on a peer, so they stay on the shard (DESIGN.md).
//
// Threads: submit() from any shard thread; a read on one of the reader threads; drain(shard) only on
// that shard's thread. What a read touches must be safe to read from any thread (the environments
// and databases of every segment, the directory, a key snapshot it holds); what its answer touches
// belongs to the shard, and the answer checks that its connection is still there.
// Invariants: at most queue_max reads wait (submit refuses the rest: the caller answers "temporary
// failure", as for an unreadable directory); a reader wipes its thread's cached key derivations
// (crypto::hkdf_prk_cache_clear) after every read, so a key shredded meanwhile lives on in no reader.
// Failure policy: a read's errors are values in its answer, never thrown. stop() lets each thread
// finish the read it is on, drops the queued ones (their answers never run: the shards have
// stopped), and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "appliance/common/worker_outbox.h"

namespace vmx {

class Shard;

struct StoreReaderOptions {
    std::uint32_t threads = 8;     // [rados] readers: reads in flight at once (they wait on the network)
    std::size_t queue_max = 4096;  // [rados] read_queue_max: reads waiting for a thread, all shards together
};

class StoreReaders {
public:
    using Answer = std::function<void()>;  // runs on the shard that asked
    using Read = std::function<Answer()>;  // runs on a reader thread and returns the answer

    StoreReaders(StoreReaderOptions options, std::uint32_t shards);
    ~StoreReaders();  // stop()
    StoreReaders(const StoreReaders&) = delete;
    StoreReaders& operator=(const StoreReaders&) = delete;

    void start();  // before the shards serve
    void stop();

    // false when queue_max reads already wait, the readers are stopped, or `shard` is out of range
    // (the read is dropped and its answer never runs).
    bool submit(std::uint32_t shard, Read read);
    // The eventfd that becomes readable when `shard` has answers.
    int result_fd(std::uint32_t shard) const noexcept { return outboxes_[shard]->fd(); }
    // Shard thread: clears the eventfd and runs every answer waiting for this shard.
    void drain(std::uint32_t shard);

    std::size_t queued() const;
    std::uint64_t reads() const noexcept { return reads_.load(std::memory_order_relaxed); }     // reads run
    std::uint64_t refused() const noexcept { return refused_.load(std::memory_order_relaxed); }  // queue full

private:
    struct Job {
        std::uint32_t shard = 0;
        Read read;
    };
    void run();

    const StoreReaderOptions options_;
    std::vector<std::unique_ptr<WorkerOutbox<Answer>>> outboxes_;  // by shard
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    std::atomic<std::uint64_t> reads_{0};
    std::atomic<std::uint64_t> refused_{0};
};

// The shard's side (in its ShardContext): watches the shard's answers and runs them. Shard thread only.
class ShardReads {
public:
    ShardReads(Shard& shard, StoreReaders& readers);

    // Runs read() on a reader thread, then answer(value) on this shard's thread. false when the
    // readers are saturated (neither runs then). Both are copied into std::function: captures must
    // be copyable (hold what is not in a shared_ptr). `read` must capture nothing of the shard's.
    template <class ReadFn, class AnswerFn>
    bool read(ReadFn read_fn, AnswerFn answer_fn) {
        using Value = std::invoke_result_t<ReadFn&>;
        return readers_.submit(shard_id_, [read_fn = std::move(read_fn), answer_fn = std::move(answer_fn)]() mutable {
            auto value = std::make_shared<Value>(read_fn());
            return StoreReaders::Answer([answer_fn = std::move(answer_fn), value]() mutable { answer_fn(std::move(*value)); });
        });
    }

private:
    std::uint32_t shard_id_;
    StoreReaders& readers_;
};

// read() where this shard's reads belong, then answer(value) on this shard: at once without readers
// (a store of one box), else through them. false when the readers are saturated (neither ran).
template <class ReadFn, class AnswerFn>
bool read_then(ShardReads* reads, ReadFn read_fn, AnswerFn answer_fn) {
    if (reads == nullptr) {
        answer_fn(read_fn());
        return true;
    }
    return reads->read(std::move(read_fn), std::move(answer_fn));
}

}  // namespace vmx
