// AuthWorkers and ShardAuth (see auth_workers.h).
#include "appliance/auth/auth_workers.h"

#include <pthread.h>
#include <signal.h>

#include <string_view>
#include <utility>

#include "core/log.h"
#include "core/shard.h"

namespace vmx {
namespace {

std::string_view as_text(const crypto::SecretBytes& secret) {
    const auto bytes = secret.view();
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

AuthWorkers::AuthWorkers(AuthWorkerOptions options, std::uint32_t shards)
    : options_(std::move(options)), throttle_(options_.throttle), logins_(options_.login_cache) {
    for (std::uint32_t s = 0; s < shards; ++s) outboxes_.push_back(std::make_unique<WorkerOutbox<VerifyDone>>());
}

AuthWorkers::~AuthWorkers() { stop(); }

Result<void> AuthWorkers::start() {
    for (const auto& box : outboxes_)
        if (!box->valid()) return fail(std::make_error_code(std::errc::too_many_files_open));
    if (!hashes_.valid()) return fail(std::make_error_code(std::errc::too_many_files_open));
    // A random salt and tag with the configured parameters: checking it costs what a real check
    // costs, and making it costs no hash at start-up.
    auto decoy = crypto::decoy_password_hash(options_.argon2);
    if (!decoy) return fail(decoy.error());
    decoy_hash_ = std::move(*decoy);
    if (auto r = logins_.start(); !r) return fail(r.error());
    // The threads start with every signal blocked, whenever start() is called: SIGTERM must reach
    // the control thread's signalfd, never a worker (where its default action would kill the daemon).
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    for (std::uint32_t i = 0; i < options_.threads; ++i) {
        threads_.emplace_back([this] { run(); });
        pthread_setname_np(threads_.back().native_handle(), ("vmx-auth-" + std::to_string(i)).c_str());
    }
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    return {};
}

void AuthWorkers::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();  // each job's secret is wiped with it
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    logins_.wipe();
}

bool AuthWorkers::submit(VerifyJob job) {
    if (job.shard >= outboxes_.size()) return false;
    return enqueue(std::move(job));
}

bool AuthWorkers::submit(HashJob job) { return enqueue(std::move(job)); }

bool AuthWorkers::enqueue(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.queue_max) return false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

std::size_t AuthWorkers::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void AuthWorkers::run() {
    for (;;) {
        std::optional<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job.emplace(std::move(queue_.front()));
            queue_.pop_front();
        }
        if (auto* verify_job = std::get_if<VerifyJob>(&*job)) outboxes_[verify_job->shard]->post(check(*verify_job));
        else hashes_.post(hash(std::get<HashJob>(*job)));
    }
}

HashDone AuthWorkers::hash(const HashJob& job) const {
    HashDone done;
    done.token = job.token;
    auto hashed = crypto::hash_password(as_text(job.secret), options_.argon2);
    if (hashed) done.hash = std::move(*hashed);
    else done.error = hashed.error();
    return done;
}

// The throttle decides first (a refused address costs no hash and never reaches the cache); the
// counts change only here, on the workers, so a shard never waits on them. A wrong secret drops the
// user's cached logins: a client that starts failing is checked in full from then on.
VerifyDone AuthWorkers::check(const VerifyJob& job) {
    VerifyDone done;
    done.token = job.token;
    const std::int64_t now = options_.now_s();
    const ThrottleDecision before = throttle_.check(job.user, job.address, now);
    if (bans_ != nullptr && bans_->banned(job.address, now)) {
        done.refused = true;
        return done;
    }
    if (before.refused) {
        done.refused = true;
        done.delay_ms = before.delay_ms;
        return done;
    }
    done.matched = verify(job, now);
    verified_.fetch_add(1, std::memory_order_relaxed);
    if (done.matched) {
        throttle_.succeeded(job.user);
    } else {
        failed_.fetch_add(1, std::memory_order_relaxed);
        logins_.failed(job.user);
        done.delay_ms = throttle_.failed(job.user, job.address, now).delay_ms;
        if (bans_ != nullptr) bans_->failed_login(job.address, now);
    }
    return done;
}

// A secret Argon2id accepted lately for one of these very hashes is answered by the cache; anything
// else is a full Argon2id run per candidate, and the first match ends the job and is remembered. An
// unknown name has no candidate, so it never hits and always costs the decoy's one run.
std::optional<LoginMethod> AuthWorkers::verify(const VerifyJob& job, std::int64_t now_s) {
    const std::string_view secret = as_text(job.secret);
    if (job.candidates.empty()) {
        full_checks_.fetch_add(1, std::memory_order_relaxed);
        (void)crypto::verify_password(secret, decoy_hash_);
        return std::nullopt;
    }
    if (auto cached = logins_.find(job.user, job.candidates, secret, now_s)) return cached;
    const std::uint64_t ticket = logins_.ticket();
    full_checks_.fetch_add(1, std::memory_order_relaxed);
    for (const PasswordCandidate& c : job.candidates) {
        if (crypto::verify_password(secret, c.hash) != crypto::PasswordCheck::match) continue;
        logins_.remember(job.user, c, secret, now_s, ticket);
        return c.method;
    }
    return std::nullopt;
}

void AuthWorkers::drain(std::uint32_t shard, const std::function<void(VerifyDone&&)>& fn) { outboxes_[shard]->drain(fn); }

void AuthWorkers::drain_hashes(const std::function<void(HashDone&&)>& fn) { hashes_.drain(fn); }

ShardAuth::ShardAuth(Shard& shard, AuthWorkers& workers) : shard_(shard), workers_(workers) {
    shard.watch_readable(workers.result_fd(shard.id()), [this](Shard&) {
        workers_.drain(shard_.id(), [this](VerifyDone&& done) {
            auto it = waiting_.find(done.token);
            if (it == waiting_.end()) return;
            VerifyCallback callback = std::move(it->second);
            waiting_.erase(it);
            if (callback) callback(done);
        });
    });
}

bool ShardAuth::verify(VerifyJob job, VerifyCallback done) {
    job.shard = shard_.id();
    job.token = next_token_++;
    const std::uint64_t token = job.token;
    if (!workers_.submit(std::move(job))) return false;
    waiting_.emplace(token, std::move(done));
    return true;
}

}  // namespace vmx
