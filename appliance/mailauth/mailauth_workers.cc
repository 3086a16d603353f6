// MailAuthWorkers and ShardMailAuth (see mailauth_workers.h).
#include "appliance/mailauth/mailauth_workers.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>

#include "appliance/mailauth/dkim_sign.h"
#include "core/log.h"
#include "core/shard.h"

namespace vmx {

struct MailAuthWorkers::ThreadState {
    std::unique_ptr<MessageChecks> checks;
};

MailAuthWorkers::MailAuthWorkers(MailAuthOptions options, std::uint32_t shards) : options_(std::move(options)) {
    for (std::uint32_t s = 0; s < shards; ++s) outboxes_.push_back(std::make_unique<WorkerOutbox<MailAuthDone>>());
}

MailAuthWorkers::~MailAuthWorkers() { stop(); }

Result<void> MailAuthWorkers::start() {
    for (const auto& box : outboxes_)
        if (!box->valid()) return fail(std::make_error_code(std::errc::too_many_files_open));
    for (std::uint32_t i = 0; i < options_.threads; ++i) {
        auto state = std::make_unique<ThreadState>();
        auto checks = MessageChecks::create(options_.checks);
        if (!checks) return fail(checks.error());
        state->checks = std::move(*checks);
        states_.push_back(std::move(state));
    }
    // Every signal blocked in the threads: SIGTERM must reach the control thread's signalfd.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    for (std::uint32_t i = 0; i < options_.threads; ++i) {
        ThreadState* state = states_[i].get();
        threads_.emplace_back([this, state] { run(*state); });
        pthread_setname_np(threads_.back().native_handle(), ("vmx-mailauth-" + std::to_string(i)).substr(0, 15).c_str());
    }
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    return {};
}

void MailAuthWorkers::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        signs_.clear();
        checks_.clear();
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
}

bool MailAuthWorkers::submit(CheckJob job) { return enqueue(checks_, std::move(job)); }

bool MailAuthWorkers::submit(SignJob job) { return enqueue(signs_, std::move(job)); }

template <class J>
bool MailAuthWorkers::enqueue(std::deque<J>& queue, J job) {
    if (job.shard >= outboxes_.size()) return false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue.size() >= options_.queue_max) return false;
        queue.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void MailAuthWorkers::set_keyring(std::shared_ptr<const DkimKeyring> keyring) {
    std::lock_guard lock(mutex_);
    keyring_ = std::move(keyring);
}

bool MailAuthWorkers::has_key(std::string_view domain) const {
    std::lock_guard lock(mutex_);
    return options_.sign && keyring_ && keyring_->find(domain) != nullptr;
}

void MailAuthWorkers::run(ThreadState& state) {
    for (;;) {
        std::optional<Job> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !signs_.empty() || !checks_.empty(); });
            if (stopping_) return;
            if (!signs_.empty()) {
                job.emplace(std::move(signs_.front()));
                signs_.pop_front();
            } else {
                job.emplace(std::move(checks_.front()));
                checks_.pop_front();
            }
        }
        if (auto* check = std::get_if<CheckJob>(&*job)) {
            CheckDone done{check->token, state.checks->check(check->input, *check->message)};
            outboxes_[check->shard]->post(std::move(done));
        } else {
            const SignJob& sign_job = std::get<SignJob>(*job);
            outboxes_[sign_job.shard]->post(sign(sign_job));
        }
    }
}

SignDone MailAuthWorkers::sign(const SignJob& job) {
    SignDone done;
    done.token = job.token;
    std::shared_ptr<const DkimKeyring> keyring;
    {
        std::lock_guard lock(mutex_);
        keyring = keyring_;
    }
    const DkimSigningKey* key = (options_.sign && keyring) ? keyring->find(job.domain) : nullptr;
    if (key == nullptr) return done;
    done.selector = key->selector;
    auto header = dkim_sign(*job.message, job.domain, *key, static_cast<std::int64_t>(std::time(nullptr)));
    if (header) done.header = std::move(*header);
    else done.failed = true;
    return done;
}

void MailAuthWorkers::drain(std::uint32_t shard, const std::function<void(MailAuthDone&&)>& fn) {
    outboxes_[shard]->drain(fn);
}

ShardMailAuth::ShardMailAuth(Shard& shard, MailAuthWorkers& workers) : shard_(shard), workers_(workers) {
    shard.watch_readable(workers.result_fd(shard.id()), [this](Shard&) {
        workers_.drain(shard_.id(), [this](MailAuthDone&& done) {
            const std::uint64_t token = std::visit([](const auto& d) { return d.token; }, done);
            auto it = waiting_.find(token);
            if (it == waiting_.end()) return;
            auto callback = std::move(it->second);
            waiting_.erase(it);
            if (auto* check = std::get_if<CheckDone>(&done)) {
                if (auto* fn = std::get_if<CheckCallback>(&callback); fn && *fn) (*fn)(std::move(check->verdict));
            } else if (auto* fn = std::get_if<SignCallback>(&callback); fn && *fn) {
                (*fn)(std::get<SignDone>(std::move(done)));
            }
        });
    });
}

bool ShardMailAuth::check(CheckInput input, std::shared_ptr<const std::string> message, CheckCallback done) {
    CheckJob job{shard_.id(), next_token_++, std::move(input), std::move(message)};
    const std::uint64_t token = job.token;
    if (!workers_.submit(std::move(job))) return false;
    waiting_.emplace(token, std::move(done));
    return true;
}

bool ShardMailAuth::sign(std::string domain, std::shared_ptr<const std::string> message, SignCallback done) {
    SignJob job{shard_.id(), next_token_++, std::move(domain), std::move(message)};
    const std::uint64_t token = job.token;
    if (!workers_.submit(std::move(job))) return false;
    waiting_.emplace(token, std::move(done));
    return true;
}

}  // namespace vmx
