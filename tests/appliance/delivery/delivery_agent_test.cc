// The outbound delivery agent on real shards (the daemon's ShardBuilder) and a real store, sending
// through a route to a scripted SMTP server on loopback: a message accepted into smtp-out reaches
// the server whole and its queue entry is gone; a 5xx RCPT bounces a report into the local sender's
// mailbox; local delivery's permanent failure bounces out to a remote sender from <>; a 4xx is
// retried until the server accepts; a server that never answers is cut by the reply timeout and the
// message waits; nothing is delivered twice.
#include "appliance/delivery/delivery_agent.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "appliance/auth/auth_workers.h"
#include "appliance/daemon/shard_wiring.h"
#include "appliance/mailstore/queue_entries.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::TestEngine;
using testing::TestTenant;
using testing::wait_for;

// A one-connection-at-a-time SMTP server: RCPT gets `rcpt_reply`, the final dot `dot_reply`; with
// `silent` it accepts and never says a word. Bodies it accepted are kept.
class ScriptedServer {
public:
    ScriptedServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        VMX_ASSERT(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
        VMX_ASSERT(::listen(fd_, 16) == 0);
        thread_ = std::thread([this] { run(); });
    }
    ~ScriptedServer() {
        stopping_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }

    void set_replies(std::string rcpt, std::string dot, bool silent = false) {
        std::lock_guard guard(lock_);
        rcpt_reply_ = std::move(rcpt);
        dot_reply_ = std::move(dot);
        silent_ = silent;
    }
    std::vector<std::string> bodies() {
        std::lock_guard guard(lock_);
        return bodies_;
    }
    std::vector<std::string> senders() {  // MAIL FROM paths, without the brackets
        std::lock_guard guard(lock_);
        return senders_;
    }
    std::uint16_t port = 0;
    std::atomic<int> connections{0};

private:
    void run() {
        while (!stopping_) {
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            ++connections;
            serve(c);
            ::close(c);
        }
    }
    static bool read_line(int c, std::string& line) {
        line.clear();
        char ch;
        while (::recv(c, &ch, 1, 0) == 1) {
            line += ch;
            if (ch == '\n') return true;
        }
        return false;
    }
    static void say(int c, const std::string& text) { (void)!::send(c, text.data(), text.size(), MSG_NOSIGNAL); }
    void serve(int c) {
        std::string rcpt, dot;
        bool silent;
        {
            std::lock_guard guard(lock_);
            rcpt = rcpt_reply_;
            dot = dot_reply_;
            silent = silent_;
        }
        std::string line;
        if (silent) {
            while (read_line(c, line)) {}
            return;
        }
        say(c, "220 scripted ESMTP\r\n");
        while (read_line(c, line)) {
            const std::string verb = line.substr(0, 4);
            if (verb == "EHLO") say(c, "250-scripted\r\n250 PIPELINING\r\n");
            else if (verb == "MAIL") {
                const auto open = line.find('<'), close = line.find('>');
                std::lock_guard guard(lock_);
                senders_.push_back(open != std::string::npos && close > open ? line.substr(open + 1, close - open - 1) : line);
                say(c, "250 2.1.0 ok\r\n");
            }
            else if (verb == "RCPT") say(c, rcpt + "\r\n");
            else if (verb == "DATA") {
                if (rcpt[0] != '2') {
                    say(c, "554 5.5.1 no valid recipients\r\n");
                    continue;
                }
                say(c, "354 go ahead\r\n");
                std::string body;
                while (read_line(c, line) && line != ".\r\n") body += line;
                if (dot[0] == '2') {
                    std::lock_guard guard(lock_);
                    bodies_.push_back(body);
                }
                say(c, dot + "\r\n");
            } else if (verb == "QUIT") {
                say(c, "221 bye\r\n");
                return;
            } else {
                say(c, "250 ok\r\n");
            }
        }
    }

    int fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::mutex lock_;
    std::string rcpt_reply_ = "250 2.1.5 ok";
    std::string dot_reply_ = "250 2.0.0 queued";
    bool silent_ = false;
    std::vector<std::string> bodies_;
    std::vector<std::string> senders_;
};

struct AgentFixture : TestTenant {
    AgentFixture() {
        ann = add_user_on(0, "ann");
        workers = testing::cheap_auth_workers();
        OutboundOptions outbound;
        outbound.helo = "mx.example.test";
        outbound.routes.emplace("remote.test", NextHop{"127.0.0.1", server.port});
        outbound.tls = smtp::TlsPolicy::none;
        outbound.retry = {1, 1, 3600};
        outbound.reply_timeout_ms = 1500;
        outbound.dead_backoff_ms = 200;
        engine = testing::daemon_shards(*this, *workers, {}, std::move(outbound));
    }
    ~AgentFixture() { engine.reset(); }

    // Queues a message from ann to `to` into shard 0's smtp-out, as submission does.
    void submit(const std::string& to, const std::string& text) {
        std::promise<bool> stored;
        engine->on_shard(0, [&](ShardContext& c) {
            store::Envelope e;
            e.sender = address_of(ann);
            e.arrival_unix = static_cast<std::int64_t>(std::time(nullptr));
            store::Recipient r;
            r.address = to;
            e.recipients.push_back(std::move(r));
            c.outbound->accept(std::move(e), std::make_shared<const std::string>(text),
                               [&stored](AcceptOutcome o, const std::string&) { stored.set_value(o == AcceptOutcome::stored); });
        });
        ASSERT_TRUE(stored.get_future().get());
    }
    std::uint64_t stat(std::atomic<std::uint64_t> OutboundStats::*counter) {
        std::promise<std::uint64_t> value;
        engine->on_shard(0, [&](ShardContext& c) { value.set_value((c.agent->stats().*counter).load()); });
        return value.get_future().get();
    }
    std::size_t queued() {
        std::promise<std::size_t> value;
        engine->on_shard(0, [&](ShardContext& c) {
            auto n = count_entries(*c.store, store::QueueKind::smtp_out);
            value.set_value(n ? *n : 999);
        });
        return value.get_future().get();
    }

    ScriptedServer server;
    std::uint64_t ann = 0;
    std::unique_ptr<AuthWorkers> workers;
    std::unique_ptr<TestEngine> engine;
};

const std::string kMessage = "From: ann\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n";

TEST(DeliveryAgent, DeliversThroughARouteAndForgetsTheEntry) {
    AgentFixture f;
    f.submit("bob@remote.test", kMessage);
    ASSERT_TRUE(wait_for([&] { return f.server.bodies().size() == 1; }));
    EXPECT_EQ(f.server.bodies()[0], "From: ann\r\nSubject: hi\r\n\r\n..leading dot\r\nbody\r\n");  // dot-stuffed on the wire
    ASSERT_TRUE(wait_for([&] { return f.queued() == 0; }));
    EXPECT_EQ(f.stat(&OutboundStats::delivered), 1u);
    EXPECT_EQ(f.stat(&OutboundStats::queued), 0u);
}

TEST(DeliveryAgent, PermanentRefusalBouncesToTheLocalSender) {
    AgentFixture f;
    f.server.set_replies("550 5.1.1 <nobody@remote.test>: no such user", "250 ok");
    f.submit("nobody@remote.test", kMessage);
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1; }));
    const std::string bounce = f.body_of(f.ann, f.messages_of(f.ann)[0].id);
    EXPECT_NE(bounce.find("multipart/report"), std::string::npos);
    EXPECT_NE(bounce.find("Status: 5.1.1"), std::string::npos);
    EXPECT_NE(bounce.find("Final-Recipient: rfc822; nobody@remote.test"), std::string::npos);
    EXPECT_EQ(bounce.find("leading dot"), std::string::npos);  // the original's headers only
    ASSERT_TRUE(wait_for([&] { return f.queued() == 0; }));
    EXPECT_EQ(f.stat(&OutboundStats::bounced), 1u);
    EXPECT_TRUE(f.server.bodies().empty());
}

TEST(DeliveryAgent, TemporaryRefusalIsRetriedUntilAccepted) {
    AgentFixture f;
    f.server.set_replies("250 ok", "451 4.3.0 try again later");
    f.submit("bob@remote.test", kMessage);
    ASSERT_TRUE(wait_for([&] { return f.stat(&OutboundStats::deferred) >= 1; }));
    EXPECT_EQ(f.queued(), 1u);
    f.server.set_replies("250 ok", "250 2.0.0 queued");
    ASSERT_TRUE(wait_for([&] { return f.server.bodies().size() == 1; }));
    ASSERT_TRUE(wait_for([&] { return f.queued() == 0; }));
    EXPECT_EQ(f.server.bodies().size(), 1u);  // delivered once, never again
    EXPECT_TRUE(f.messages_of(f.ann).empty());  // no bounce for a temporary failure
}

TEST(DeliveryAgent, InboundPermanentFailureBouncesOutToTheRemoteSender) {
    // Local delivery's "no such mailbox" (an account gone between RCPT and delivery) is reported to
    // the remote sender through smtp-out, from the null sender.
    AgentFixture f;
    std::promise<bool> stored;
    f.engine->on_shard(0, [&](ShardContext& c) {
        store::Envelope e;
        e.sender = "carol@remote.test";
        e.arrival_unix = static_cast<std::int64_t>(std::time(nullptr));
        store::Recipient r;
        r.address = "gone@example.test";
        r.user_id = 987654321;  // no such user any more
        e.recipients.push_back(std::move(r));
        c.delivery->accept(std::move(e), std::make_shared<const std::string>(kMessage),
                           [&stored](AcceptOutcome o, const std::string&) { stored.set_value(o == AcceptOutcome::stored); });
    });
    ASSERT_TRUE(stored.get_future().get());
    ASSERT_TRUE(wait_for([&] { return f.server.bodies().size() == 1; }));
    const std::string bounce = f.server.bodies()[0];
    EXPECT_NE(bounce.find("multipart/report"), std::string::npos);
    EXPECT_NE(bounce.find("Final-Recipient: rfc822; gone@example.test"), std::string::npos);
    EXPECT_NE(bounce.find("To: <carol@remote.test>"), std::string::npos);
    EXPECT_EQ(f.server.senders(), std::vector<std::string>{""});  // MAIL FROM:<>
}

TEST(DeliveryAgent, SilentServerIsCutAndTheMessageWaits) {
    AgentFixture f;
    f.server.set_replies("250 ok", "250 ok", /*silent=*/true);
    f.submit("bob@remote.test", kMessage);
    ASSERT_TRUE(wait_for([&] { return f.stat(&OutboundStats::connect_failures) >= 1; }, std::chrono::seconds(10)));
    EXPECT_EQ(f.queued(), 1u);
    EXPECT_EQ(f.stat(&OutboundStats::delivered), 0u);
    f.server.set_replies("250 ok", "250 ok");
    ASSERT_TRUE(wait_for([&] { return f.queued() == 0; }, std::chrono::seconds(10)));
    EXPECT_EQ(f.server.bodies().size(), 1u);
}

}  // namespace
}  // namespace vmx
