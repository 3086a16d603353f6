// AuthWorkers: a few helper threads that run Argon2id password checks (crypto::verify_password, some
// 100 ms each at the default cost) so that no shard thread ever blocks on one. A shard submits a job
// with a token; a worker checks the secret against each candidate hash and posts the outcome to that
// shard's result queue, whose eventfd the shard watches (ShardAuth below, like the store lane's).
// Threads: submit() from any thread; drain(shard) only on that shard's thread. Invariants: at most
// queue_max jobs wait (submit refuses the rest: the caller answers "temporary failure"); a secret
// lives only in SecretBytes and is wiped when its job ends; results are only ever tokens and methods.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "appliance/login_history.h"
#include "core/result.h"
#include "crypto/password.h"
#include "crypto/secret_bytes.h"

namespace vmx {

class Shard;

struct AuthWorkerOptions {
    std::uint32_t threads = 2;
    std::size_t queue_max = 256;        // jobs waiting for a thread, all shards together
    crypto::Argon2Params argon2;        // for the decoy hash an unknown user is checked against
};

// One stored hash to try, and what kind of secret it is.
struct PasswordCandidate {
    std::string hash;  // Argon2id PHC string
    LoginMethod method = LoginMethod::password;
};

struct VerifyJob {
    std::uint32_t shard = 0;
    std::uint64_t token = 0;
    crypto::SecretBytes secret;
    // Tried in order until one matches. Empty (unknown user): the decoy hash is checked instead, so
    // the answer takes as long as for a real user and tells nothing about which addresses exist.
    std::vector<PasswordCandidate> candidates;
};

struct VerifyDone {
    std::uint64_t token = 0;
    std::optional<LoginMethod> matched;  // empty: no candidate matched
};

class AuthWorkers {
public:
    AuthWorkers(AuthWorkerOptions options, std::uint32_t shards);
    ~AuthWorkers();  // stop()
    AuthWorkers(const AuthWorkers&) = delete;
    AuthWorkers& operator=(const AuthWorkers&) = delete;

    // Makes the decoy hash and starts the threads. Before the shards serve.
    Result<void> start();
    // Finishes the job each thread is on, drops the queued ones, joins.
    void stop();

    // false when queue_max jobs already wait or the job's shard is out of range (the job is dropped
    // and its secret wiped).
    bool submit(VerifyJob job);
    // The eventfd that becomes readable when `shard` has results.
    int result_fd(std::uint32_t shard) const noexcept { return outboxes_[shard]->fd; }
    // Shard thread: clears the eventfd and hands out every result waiting for this shard.
    void drain(std::uint32_t shard, const std::function<void(VerifyDone&&)>& fn);

    std::size_t queued() const;
    std::uint64_t verified() const noexcept { return verified_.load(std::memory_order_relaxed); }

private:
    struct Outbox {
        int fd = -1;
        std::mutex mutex;
        std::vector<VerifyDone> results;
    };

    void run();
    std::optional<LoginMethod> check(const VerifyJob& job) const;
    void post(std::uint32_t shard, VerifyDone done);

    const AuthWorkerOptions options_;
    std::vector<std::unique_ptr<Outbox>> outboxes_;  // by shard
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<VerifyJob> queue_;
    bool stopping_ = false;
    std::string decoy_hash_;
    std::vector<std::thread> threads_;
    std::atomic<std::uint64_t> verified_{0};
};

// The shard's side (in its ShardContext): keeps the callbacks by token and watches the shard's
// result fd. Shard thread only.
using VerifyCallback = std::function<void(std::optional<LoginMethod>)>;

class ShardAuth {
public:
    ShardAuth(Shard& shard, AuthWorkers& workers);

    // false when the workers are saturated (`done` never runs then). `done` runs later on this
    // shard's thread; it must check that its connection is still there.
    bool verify(crypto::SecretBytes secret, std::vector<PasswordCandidate> candidates, VerifyCallback done);
    std::size_t waiting() const noexcept { return waiting_.size(); }

private:
    Shard& shard_;
    AuthWorkers& workers_;
    std::uint64_t next_token_ = 1;
    std::unordered_map<std::uint64_t, VerifyCallback> waiting_;
};

}  // namespace vmx
