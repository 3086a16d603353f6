// AuthWorkers: a few helper threads that check logins: the login throttle first (login_throttle.h),
// then the verified-login cache (verified_logins.h: a secret Argon2id accepted lately for the same
// stored hash), then Argon2id (crypto::verify_password, some 100 ms each at the default cost), so
// that no shard thread ever blocks on a hash or touches the throttle's shared counts. A shard
// submits a job with a token; a worker posts the outcome to that shard's result queue, whose eventfd
// the shard watches (ShardAuth below, like the store lane's). Threads: submit() from any thread
// (one short lock per login attempt, off the per-byte path); drain(shard) only on that shard's
// thread. Invariants: at most queue_max jobs wait (submit refuses the rest: the caller answers
// "temporary failure"); a secret lives only in SecretBytes and is wiped when its job ends; results
// carry no secret.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "appliance/directory/login_history.h"
#include "appliance/auth/ban_list.h"
#include "appliance/auth/login_throttle.h"
#include "appliance/auth/verified_logins.h"
#include "appliance/common/worker_outbox.h"
#include "core/result.h"
#include "crypto/password.h"
#include "crypto/secret_bytes.h"

namespace vmx {

class Shard;

struct AuthWorkerOptions {
    std::uint32_t threads = 2;
    std::size_t queue_max = 256;        // jobs waiting for a thread, all shards together
    crypto::Argon2Params argon2;        // for the decoy hash an unknown user is checked against
    LoginThrottleOptions throttle;
    VerifiedLoginOptions login_cache;
    // Wall seconds for the throttle and the cache; tests fix it. Called on the worker threads.
    std::function<std::int64_t()> now_s = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
};

struct VerifyJob {
    std::uint32_t shard = 0;
    std::uint64_t token = 0;
    crypto::SecretBytes secret;
    std::string user;     // the lower-cased login name, for the throttle
    std::string address;  // the client's address, for the throttle
    // Tried in order until one matches. Empty (unknown user): the decoy hash is checked instead, so
    // the answer takes as long as for a real user and tells nothing about which addresses exist.
    std::vector<PasswordCandidate> candidates;
};

struct VerifyDone {
    std::uint64_t token = 0;
    std::optional<LoginMethod> matched;  // empty: no candidate matched (or refused)
    bool refused = false;                // the address failed too often: nothing was checked
    std::uint64_t delay_ms = 0;          // hold a refusal or a failure's answer this long
};

// A password to hash for the control thread (an admin setting one): the same workers, so Argon2id
// never runs on the control thread either, which serves the admin socket and ships logs.
struct HashJob {
    std::uint64_t token = 0;
    crypto::SecretBytes secret;
};

struct HashDone {
    std::uint64_t token = 0;
    std::string hash;         // an Argon2id PHC string, empty on error
    std::error_code error;
};

class AuthWorkers {
public:
    AuthWorkers(AuthWorkerOptions options, std::uint32_t shards);
    ~AuthWorkers();  // stop()
    AuthWorkers(const AuthWorkers&) = delete;
    AuthWorkers& operator=(const AuthWorkers&) = delete;

    // Makes the decoy hash and the cache's key, and starts the threads. Before the shards serve.
    // Failed logins also count toward bans of the address (ban_list.h); set before start().
    void set_bans(BanList* bans) noexcept { bans_ = bans; }
    Result<void> start();
    // Finishes the job each thread is on, drops the queued ones, joins, wipes the cache and its key.
    void stop();

    // false when queue_max jobs already wait or the job's shard is out of range (the job is dropped
    // and its secret wiped).
    bool submit(VerifyJob job);
    // The eventfd that becomes readable when `shard` has results.
    int result_fd(std::uint32_t shard) const noexcept { return outboxes_[shard]->fd(); }
    // Shard thread: clears the eventfd and hands out every result waiting for this shard.
    void drain(std::uint32_t shard, const std::function<void(VerifyDone&&)>& fn);

    // The control thread's hashing: false when queue_max jobs already wait (the secret is wiped).
    bool submit(HashJob job);
    int hash_result_fd() const noexcept { return hashes_.fd(); }
    // Control thread: clears the eventfd and hands out every finished hash.
    void drain_hashes(const std::function<void(HashDone&&)>& fn);

    std::size_t queued() const;
    // Attempts checked (not refused by the throttle), and those of them that ran Argon2id (the
    // others were answered by the cache).
    std::uint64_t verified() const noexcept { return verified_.load(std::memory_order_relaxed); }
    std::uint64_t full_checks() const noexcept { return full_checks_.load(std::memory_order_relaxed); }
    std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }  // logins refused
    const LoginThrottle& throttle() const noexcept { return throttle_; }
    // The admin commands forget a user here when its credentials, state or sessions change.
    VerifiedLogins& verified_logins() noexcept { return logins_; }

private:
    using Job = std::variant<VerifyJob, HashJob>;

    bool enqueue(Job job);
    void run();
    HashDone hash(const HashJob& job) const;
    VerifyDone check(const VerifyJob& job);
    std::optional<LoginMethod> verify(const VerifyJob& job, std::int64_t now_s);

    const AuthWorkerOptions options_;
    std::vector<std::unique_ptr<WorkerOutbox<VerifyDone>>> outboxes_;  // by shard
    WorkerOutbox<HashDone> hashes_;                                    // the control thread's
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::string decoy_hash_;
    LoginThrottle throttle_;
    VerifiedLogins logins_;
    BanList* bans_ = nullptr;
    std::vector<std::thread> threads_;
    std::atomic<std::uint64_t> verified_{0};
    std::atomic<std::uint64_t> full_checks_{0};
    std::atomic<std::uint64_t> failed_{0};
};

// The shard's side (in its ShardContext): keeps the callbacks by token and watches the shard's
// result fd. Shard thread only.
using VerifyCallback = std::function<void(const VerifyDone&)>;

class ShardAuth {
public:
    ShardAuth(Shard& shard, AuthWorkers& workers);

    // false when the workers are saturated (`done` never runs then). `done` runs later on this
    // shard's thread; it must check that its connection is still there.
    bool verify(VerifyJob job, VerifyCallback done);  // shard and token are filled in here
    std::size_t waiting() const noexcept { return waiting_.size(); }

private:
    Shard& shard_;
    AuthWorkers& workers_;
    std::uint64_t next_token_ = 1;
    std::unordered_map<std::uint64_t, VerifyCallback> waiting_;
};

}  // namespace vmx
