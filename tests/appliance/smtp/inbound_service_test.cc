// The inbound SMTP service shell on real shards (the daemon's ShardBuilder and the handler's narrow
// parts): RCPT checked against the directory (a user, an unknown user of a local domain, a foreign
// domain, a full mailbox), an accepted message queued before its 250 and then in every recipient's
// mailbox on either shard with the Received: header on top, and a session fed one byte at a time.
#include "appliance/smtp/inbound_service.h"

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "appliance/auth/auth_workers.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::connect_local;
using testing::send_all;
using testing::TestEngine;
using testing::TestTenant;
using testing::wait_for;

// One reply (every line of a multi-line one), as the client reads it: up to a line "NNN text".
std::string read_reply(int fd) {
    std::string out;
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1) {
        out += c;
        line += c;
        if (c != '\n') continue;
        if (line.size() >= 4 && line[3] == ' ') break;
        line.clear();
    }
    return out;
}

struct SmtpFixture : TestTenant {
    // off_shard: recipients are looked up by store readers, as on a store shared by nodes.
    explicit SmtpFixture(bool off_shard = false) {
        ann = add_user_on(0, "ann");
        bob = add_user_on(1, "bob");
        full = add_user("full@example.test", "", 64);
        workers = testing::cheap_auth_workers();
        settings.options.hostname = "mx.example.test";
        settings.options.starttls = smtp::StartTls::unavailable;
        port = testing::pick_free_port();
        std::vector<ListenerSpec> listeners;
        listeners.push_back(testing::listener_on(port, "smtp", smtp_inbound_factory(settings, *directory, smtp_parts_of)));
        if (off_shard) {
            readers = std::make_unique<StoreReaders>(StoreReaderOptions{2, 64}, testing::kTestSegments);
            readers->start();
        }
        engine = testing::daemon_shards(*this, *workers, std::move(listeners), {}, readers.get());
    }
    ~SmtpFixture() { engine.reset(); }

    // Sends one command line and returns the reply.
    std::string say(int fd, const std::string& line) {
        EXPECT_TRUE(send_all(fd, line + "\r\n"));
        return read_reply(fd);
    }
    int session() {
        const int fd = connect_local(port);
        EXPECT_EQ(read_reply(fd).substr(0, 4), "220 ");
        EXPECT_EQ(say(fd, "EHLO client.remote.test").substr(0, 4), "250-");
        return fd;
    }

    // Fills the `full` user's mailbox to its quota exactly, through its owner shard.
    void fill_to_quota() {
        const std::uint32_t segment = store::segment_of(full, testing::kTestSegments);
        std::promise<bool> stored;
        engine->on_shard(segment, [&](ShardContext& c) {
            const store::MailboxRef box{full, segment, crypto::account_scope(full)};
            c.writes->append(box, std::make_shared<const std::string>(64, 'x'), store::AppendOptions{testing::kTestStart, 64},
                             std::nullopt, [&stored](Result<std::uint64_t> r) { stored.set_value(r.has_value()); });
        });
        VMX_ASSERT(stored.get_future().get());
    }

    std::uint64_t ann = 0, bob = 0, full = 0;
    std::unique_ptr<AuthWorkers> workers;
    std::unique_ptr<StoreReaders> readers;
    SmtpInboundSettings settings;
    std::uint16_t port = 0;
    std::unique_ptr<TestEngine> engine;
};

TEST(SmtpInboundServiceTest, RecipientsAreCheckedAgainstTheDirectory) {
    SmtpFixture f;
    f.fill_to_quota();
    const int fd = f.session();
    EXPECT_EQ(f.say(fd, "MAIL FROM:<someone@remote.test>").substr(0, 3), "250");
    EXPECT_EQ(f.say(fd, "RCPT TO:<" + f.address_of(f.ann) + ">").substr(0, 3), "250");
    EXPECT_EQ(f.say(fd, "RCPT TO:<nobody@example.test>").substr(0, 9), "550 5.1.1");
    EXPECT_EQ(f.say(fd, "RCPT TO:<NOBODY@Example.Test>").substr(0, 9), "550 5.1.1");  // case-blind
    EXPECT_EQ(f.say(fd, "RCPT TO:<someone@elsewhere.test>").substr(0, 9), "550 5.7.1");  // no open relay
    EXPECT_EQ(f.say(fd, "RCPT TO:<full@example.test>").substr(0, 9), "452 4.2.2");       // full, told now
    EXPECT_EQ(f.say(fd, "QUIT").substr(0, 3), "221");
    ::close(fd);
}

// The same verdicts when each look-up runs on a store reader; pipelined RCPTs wait for each other's
// verdict and are answered in order.
TEST(SmtpInboundServiceTest, RecipientsLookedUpOffTheShardAnswerInOrder) {
    SmtpFixture f(true);
    f.fill_to_quota();
    const int fd = f.session();
    EXPECT_EQ(f.say(fd, "MAIL FROM:<someone@remote.test>").substr(0, 3), "250");
    const std::uint64_t before = f.readers->reads();
    EXPECT_EQ(f.say(fd, "RCPT TO:<" + f.address_of(f.ann) + ">").substr(0, 3), "250");
    EXPECT_EQ(f.say(fd, "RCPT TO:<NOBODY@Example.Test>").substr(0, 9), "550 5.1.1");
    EXPECT_EQ(f.say(fd, "RCPT TO:<someone@elsewhere.test>").substr(0, 9), "550 5.7.1");
    EXPECT_EQ(f.say(fd, "RCPT TO:<full@example.test>").substr(0, 9), "452 4.2.2");
    EXPECT_EQ(f.readers->reads(), before + 4);  // each recipient once, on a reader
    ASSERT_TRUE(send_all(fd, "RCPT TO:<nobody@example.test>\r\nRCPT TO:<" + f.address_of(f.bob) +
                                 ">\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n"));
    EXPECT_EQ(read_reply(fd).substr(0, 9), "550 5.1.1");
    EXPECT_EQ(read_reply(fd).substr(0, 3), "250");
    EXPECT_EQ(read_reply(fd).substr(0, 3), "354");
    EXPECT_EQ(read_reply(fd).substr(0, 3), "250");
    EXPECT_EQ(f.say(fd, "QUIT").substr(0, 3), "221");
    ::close(fd);
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1 && f.messages_of(f.bob).size() == 1; }));
}

TEST(SmtpInboundServiceTest, AcceptedMessageReachesMailboxesOnBothShardsWithReceived) {
    SmtpFixture f;
    const std::string ann = f.address_of(f.ann);
    const std::string bob = f.address_of(f.bob);
    const int fd = f.session();
    f.say(fd, "MAIL FROM:<someone@remote.test>");
    f.say(fd, "RCPT TO:<" + ann + ">");
    f.say(fd, "RCPT TO:<" + bob + ">");
    EXPECT_EQ(f.say(fd, "DATA").substr(0, 3), "354");
    EXPECT_TRUE(send_all(fd, "Subject: shell test\r\n\r\n..a dot-stuffed line\r\nbody\r\n.\r\n"));
    const std::string queued = read_reply(fd);
    EXPECT_EQ(queued.substr(0, 3), "250") << queued;
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1 && f.messages_of(f.bob).size() == 1; }));
    const std::string body = f.body_of(f.ann, f.messages_of(f.ann)[0].id);
    EXPECT_EQ(body.rfind("Received: from client.remote.test", 0), 0u) << body;
    EXPECT_NE(body.find("\r\nSubject: shell test\r\n\r\n.a dot-stuffed line\r\nbody\r\n"), std::string::npos) << body;
    ::close(fd);
}

TEST(SmtpInboundServiceTest, SessionFedOneByteAtATime) {
    SmtpFixture f;
    const std::string ann = f.address_of(f.ann);
    const int fd = connect_local(f.port);
    read_reply(fd);
    const std::string script = "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<" + ann +
                               ">\r\nDATA\r\nSubject: bytes\r\n\r\nhi\r\n.\r\nQUIT\r\n";
    for (char c : script) ASSERT_TRUE(send_all(fd, std::string(1, c)));
    std::string replies;
    for (int i = 0; i < 6; ++i) replies += read_reply(fd);
    EXPECT_NE(replies.find("\r\n250 "), std::string::npos) << replies;
    EXPECT_NE(replies.find("354 "), std::string::npos) << replies;
    EXPECT_NE(replies.find("221 "), std::string::npos) << replies;
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1; }));
    ::close(fd);
}

}  // namespace
}  // namespace vmx
