// StoreReaders and ShardReads (see store_readers.h).
#include "appliance/mailstore/store_readers.h"

#include <optional>

#include "core/shard.h"
#include "crypto/hkdf.h"

namespace vmx {

StoreReaders::StoreReaders(StoreReaderOptions options, std::uint32_t shards) : options_(options) {
    outboxes_.reserve(shards);
    for (std::uint32_t s = 0; s < shards; ++s) outboxes_.push_back(std::make_unique<WorkerOutbox<Answer>>());
}

StoreReaders::~StoreReaders() { stop(); }

void StoreReaders::start() {
    std::lock_guard lock(mutex_);
    if (!threads_.empty() || stopping_) return;
    threads_.reserve(options_.threads);
    for (std::uint32_t t = 0; t < options_.threads; ++t) threads_.emplace_back([this] { run(); });
}

void StoreReaders::stop() {
    std::vector<std::thread> threads;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
        threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto& t : threads) t.join();
}

bool StoreReaders::submit(std::uint32_t shard, Read read) {
    if (shard >= outboxes_.size()) return false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.queue_max) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        queue_.push_back(Job{shard, std::move(read)});
    }
    wake_.notify_one();
    return true;
}

void StoreReaders::drain(std::uint32_t shard) {
    outboxes_[shard]->drain([](Answer&& answer) { answer(); });
}

std::size_t StoreReaders::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void StoreReaders::run() {
    for (;;) {
        std::optional<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job.emplace(std::move(queue_.front()));
            queue_.pop_front();
        }
        const std::uint32_t shard = job->shard;
        Answer answer = job->read();
        job.reset();  // what the read held (a key snapshot among it) goes here, on this thread
        crypto::hkdf_prk_cache_clear();
        reads_.fetch_add(1, std::memory_order_relaxed);
        outboxes_[shard]->post(std::move(answer));
    }
}

ShardReads::ShardReads(Shard& shard, StoreReaders& readers) : shard_id_(shard.id()), readers_(readers) {
    shard.watch_readable(readers.result_fd(shard.id()), [this](Shard&) { readers_.drain(shard_id_); });
}

}  // namespace vmx
