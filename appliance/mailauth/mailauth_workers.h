// MailAuthWorkers: the threads that sign submitted mail (DKIM) and check inbound mail (SPF, DKIM,
// DMARC), so that no shard ever runs RSA, waits on the libraries' DNS or parses hostile records.
// A shard submits a job with a token and its message (shared, read-only); a worker posts the result
// to that shard's result queue, whose eventfd the shard watches (ShardMailAuth below, as the auth
// workers do for passwords). Each thread owns its resolver, DNS budget and library handles; the
// signing keys are one shared, immutable keyring.
// Threads: submit() from any thread (one short lock per message); drain(shard) only on that shard's
// thread; set_keyring() from the control thread. Limits: at most queue_max checks and queue_max
// signings wait (submit refuses the rest: the caller answers 451); each check is bounded by
// CheckSettings' DNS count and time. A free thread signs before it checks: inbound senders whose
// DNS is slow cannot hold the users' outgoing mail behind them in the queue.
// Failure policy: a job accepted is answered exactly once, unless stop() drops it (the shards are
// gone by then).
#pragma once

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
#include <variant>
#include <vector>

#include "appliance/common/worker_outbox.h"
#include "appliance/mailauth/dkim_keyring.h"
#include "appliance/mailauth/message_checks.h"
#include "core/result.h"

namespace vmx {

class Shard;

struct MailAuthOptions {
    std::uint32_t threads = 2;
    std::size_t queue_max = 1024;
    bool sign = true;  // [mailauth] sign
    CheckSettings checks;
};

struct CheckJob {
    std::uint32_t shard = 0;
    std::uint64_t token = 0;
    CheckInput input;
    std::shared_ptr<const std::string> message;
};

struct SignJob {
    std::uint32_t shard = 0;
    std::uint64_t token = 0;
    std::string domain;  // the From: domain, lower case
    std::shared_ptr<const std::string> message;
};

struct SignDone {
    std::uint64_t token = 0;
    std::string header;  // "DKIM-Signature: ...\r\n"; empty when the domain has no key or signing is off
    std::string selector;
    bool failed = false;  // the key could not be used: the message goes unsigned, and it is logged
};

struct CheckDone {
    std::uint64_t token = 0;
    CheckVerdict verdict;
};

using MailAuthDone = std::variant<CheckDone, SignDone>;

class MailAuthWorkers {
public:
    MailAuthWorkers(MailAuthOptions options, std::uint32_t shards);
    ~MailAuthWorkers();  // stop()
    MailAuthWorkers(const MailAuthWorkers&) = delete;
    MailAuthWorkers& operator=(const MailAuthWorkers&) = delete;

    // Builds each thread's resolver and libraries (errors: a bad [delivery] resolver, libraries that
    // cannot start), then starts the threads. Before the shards serve.
    Result<void> start();
    void stop();

    // false when queue_max jobs wait already or the shard is out of range.
    bool submit(CheckJob job);
    bool submit(SignJob job);
    int result_fd(std::uint32_t shard) const noexcept { return outboxes_[shard]->fd(); }
    void drain(std::uint32_t shard, const std::function<void(MailAuthDone&&)>& fn);

    // The keys signing uses from now on (control thread, after a dkim/ secret changed).
    void set_keyring(std::shared_ptr<const DkimKeyring> keyring);
    // Whether `domain` has a key now: lets the shard skip the round trip for unsigned domains.
    bool has_key(std::string_view domain) const;
    const MailAuthOptions& options() const noexcept { return options_; }

private:
    struct ThreadState;
    using Job = std::variant<CheckJob, SignJob>;

    template <class J>
    bool enqueue(std::deque<J>& queue, J job);
    void run(ThreadState& state);
    SignDone sign(const SignJob& job);

    const MailAuthOptions options_;
    std::vector<std::unique_ptr<WorkerOutbox<MailAuthDone>>> outboxes_;  // by shard
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<SignJob> signs_;    // taken first
    std::deque<CheckJob> checks_;
    bool stopping_ = false;
    std::shared_ptr<const DkimKeyring> keyring_;  // under mutex_
    std::vector<std::unique_ptr<ThreadState>> states_;
    std::vector<std::thread> threads_;
};

// The shard's side: keeps the callbacks by token and watches the shard's result fd. Shard thread only.
class ShardMailAuth {
public:
    using CheckCallback = std::function<void(CheckVerdict&&)>;
    using SignCallback = std::function<void(SignDone&&)>;

    ShardMailAuth(Shard& shard, MailAuthWorkers& workers);

    // false when the workers are saturated (`done` never runs then). `done` runs later on this
    // shard's thread; it must check that its connection is still there.
    bool check(CheckInput input, std::shared_ptr<const std::string> message, CheckCallback done);
    bool sign(std::string domain, std::shared_ptr<const std::string> message, SignCallback done);
    const MailAuthWorkers& workers() const noexcept { return workers_; }

private:
    Shard& shard_;
    MailAuthWorkers& workers_;
    std::uint64_t next_token_ = 1;
    std::unordered_map<std::uint64_t, std::variant<CheckCallback, SignCallback>> waiting_;
};

}  // namespace vmx
