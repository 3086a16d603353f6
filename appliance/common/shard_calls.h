// Request and reply between threads, with one policy for every feature that waits on another shard
// (the POP3 maildrop lock and QUIT's deletions, local delivery's hand-off, the admin's restore):
// - The caller keeps one callback per token (Calls). A request the peer's inbox cannot take fails
//   at once: call() says so and keeps nothing, and the feature answers its own caller (a 4xx, a
//   temporary failure). A callback whose caller has gone meanwhile (a closed session) checks that
//   itself, as every deferred callback on a shard does.
// - The replier answers with ShardCalls::reply(). A caller waits on its reply, so a reply that the
//   caller's inbox cannot take is sent again after 1 ms, doubling up to reply_retry_max_ms, until
//   it is taken (a stopping shard drops its timers, and with them the retries). A message that
//   must arrive without an answer (send_until_taken) goes the same way.
// Every reply has the kind AppMessage::reply and the request's token; the receiving thread hands
// it to its Calls. Threads: a Calls belongs to one thread (a shard, or the control thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "appliance/common/message_kinds.h"
#include "core/message.h"
#include "core/result.h"
#include "core/shard.h"

namespace vmx {

// Sends as Shard::send_message does: on failure the message is left as it was.
using MessageSend = std::function<Result<void>(std::uint32_t to, Message&& message)>;

class Calls {
public:
    using OnReply = std::function<void(Message& reply)>;

    explicit Calls(MessageSend send) : send_(std::move(send)) {}

    // Sends `request` with a fresh token and keeps on_reply until its reply; nullopt (nothing kept)
    // when the peer's inbox could not take it.
    std::optional<std::uint64_t> call(std::uint32_t to, Message request, OnReply on_reply) {
        const std::uint64_t token = next_token_++;
        request.token = token;
        if (!send_(to, std::move(request))) return std::nullopt;
        waiting_.emplace(token, std::move(on_reply));
        return token;
    }
    // A reply addressed to this thread.
    void on_reply(Message& reply) {
        auto it = waiting_.find(reply.token);
        if (it == waiting_.end()) return;
        OnReply on_reply = std::move(it->second);
        waiting_.erase(it);
        on_reply(reply);
    }
    std::size_t waiting() const noexcept { return waiting_.size(); }

protected:
    MessageSend send_;

private:
    std::unordered_map<std::uint64_t, OnReply> waiting_;
    std::uint64_t next_token_ = 1;
};

class ShardCalls : public Calls {
public:
    // `send` empty: the shard's own mesh (tests pass one that drops messages).
    ShardCalls(Shard& shard, std::uint64_t reply_retry_max_ms, MessageSend send = {})
        : Calls(send ? std::move(send) : MessageSend([&shard](std::uint32_t to, Message&& m) {
              return shard.send_message(to, std::move(m));
          })),
          shard_(shard), reply_retry_max_ms_(reply_retry_max_ms) {}

    // Answers the request `token` from shard (or control endpoint) `to`, sent again until taken.
    void reply(std::uint32_t to, std::uint64_t token, Message reply) {
        reply.kind = message_kind(AppMessage::reply);
        reply.token = token;
        send_until_taken(to, std::move(reply));
    }
    // A message that must arrive but waits for no answer (a lock's release), with the same policy.
    void send_until_taken(std::uint32_t to, Message message) { send_until_taken(to, std::move(message), 0); }
    std::uint64_t replies_retried() const noexcept { return replies_retried_.load(std::memory_order_relaxed); }

private:
    void send_until_taken(std::uint32_t to, Message message, std::uint64_t delay_ms);

    Shard& shard_;
    const std::uint64_t reply_retry_max_ms_;
    std::atomic<std::uint64_t> replies_retried_{0};  // sends retried; read by other threads (stats, tests)
};

}  // namespace vmx
