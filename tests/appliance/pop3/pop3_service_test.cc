// The POP3S service shell on real shards (the daemon's ShardBuilder and the handler's narrow parts),
// driven by a wolfSSL client over implicit TLS: a login checked on the auth workers, the listing
// and RETR streamed from the store, DELE moving to the trash at QUIT through the owner shard, and a
// wrong password answered exactly as an unknown user is.
#include "appliance/pop3/pop3_service.h"

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "appliance/auth/auth_workers.h"
#include "crypto/password.h"
#include "tests/appliance/support/appliance_fixture.h"
#include "tests/net/tls/tls_client.h"
#include "tests/net/tls/tls_test_support.h"

namespace vmx {
namespace {

using net::test::TlsClient;
using testing::TestEngine;
using testing::TestTenant;
using testing::wait_for;

constexpr crypto::Argon2Params kCheap{8, 1, 1};

struct Pop3Fixture : TestTenant {
    // off_shard: the account, the listing and the bodies are read by store readers, as on a store
    // shared by nodes.
    explicit Pop3Fixture(bool off_shard = false) {
        auto hash = crypto::hash_password("right password", kCheap);
        VMX_ASSERT(hash);
        // Her mailbox on shard 1: the session runs on whichever shard accepts, the lock and the
        // deletions go to the owner.
        for (int i = 0; ann == 0; ++i) {
            const std::uint64_t id = add_user("ann" + std::to_string(i) + "@example.test", *hash);
            if (store::segment_of(id, testing::kTestSegments) == 1) ann = id;
        }
        workers = testing::cheap_auth_workers();
        settings.tls = net::test::server_context();
        port = testing::pick_free_port();
        std::vector<ListenerSpec> listeners;
        listeners.push_back(testing::listener_on(port, "pop3s", pop3_service_factory(settings, pop3_parts_of)));
        if (off_shard) {
            readers = std::make_unique<StoreReaders>(StoreReaderOptions{2, 64}, testing::kTestSegments);
            readers->start();
        }
        engine = testing::daemon_shards(*this, *workers, std::move(listeners), {}, readers.get());
    }
    ~Pop3Fixture() { engine.reset(); }

    void append(const std::string& body) {
        std::promise<bool> stored;
        engine->on_shard(1, [&](ShardContext& c) {
            const store::MailboxRef box{ann, 1, crypto::account_scope(ann)};
            c.writes->append(box, std::make_shared<const std::string>(body), store::AppendOptions{testing::kTestStart, 0},
                             std::nullopt, [&stored](Result<std::uint64_t> r) { stored.set_value(r.has_value()); });
        });
        VMX_ASSERT(stored.get_future().get());
    }

    std::unique_ptr<TlsClient> connect() {
        auto client = std::make_unique<TlsClient>(testing::connect_local(port), *client_context);
        EXPECT_TRUE(client->handshake());
        EXPECT_EQ(client->read_until("\r\n").substr(0, 3), "+OK");
        return client;
    }
    static std::string say(TlsClient& c, const std::string& line, std::string_view until = "\r\n") {
        EXPECT_TRUE(c.write(line + "\r\n"));
        return c.read_until(until);
    }

    std::uint64_t ann = 0;
    std::unique_ptr<AuthWorkers> workers;
    std::unique_ptr<StoreReaders> readers;
    Pop3Settings settings;
    std::shared_ptr<const net::TlsClientContext> client_context = net::test::client_context();
    std::uint16_t port = 0;
    std::unique_ptr<TestEngine> engine;
};

TEST(Pop3ServiceTest, LoginListRetrieveAndDeleteToTrash) {
    Pop3Fixture f;
    f.append("Subject: one\r\n\r\n.starts with a dot\r\n");
    f.append("Subject: two\r\n\r\nsecond\r\n");
    auto c = f.connect();
    const std::string user = f.address_of(f.ann);
    EXPECT_EQ(Pop3Fixture::say(*c, "USER " + user).substr(0, 3), "+OK");
    EXPECT_EQ(Pop3Fixture::say(*c, "PASS right password").substr(0, 3), "+OK");
    EXPECT_EQ(Pop3Fixture::say(*c, "STAT").substr(0, 6), "+OK 2 ");
    const std::string retr = Pop3Fixture::say(*c, "RETR 1", "\r\n.\r\n");
    EXPECT_NE(retr.find("Subject: one\r\n\r\n..starts with a dot\r\n.\r\n"), std::string::npos) << retr;  // dot-stuffed
    EXPECT_EQ(Pop3Fixture::say(*c, "DELE 1").substr(0, 3), "+OK");
    EXPECT_EQ(f.messages_of(f.ann).size(), 2u);  // nothing moves before QUIT (RFC 1939 UPDATE)
    EXPECT_EQ(Pop3Fixture::say(*c, "QUIT").substr(0, 3), "+OK");
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1; }));
}

// Off the shard: the login's account, the listing and every chunk of a body of many chunks are read
// by store readers; the client sees what it sees when the shard reads (TOP, pipelining included).
TEST(Pop3ServiceTest, ListingAndBodiesReadOffTheShard) {
    Pop3Fixture f(true);
    std::string big = "Subject: big\r\n\r\n";
    for (int line = 0; big.size() < 300'000; ++line) big += "line " + std::to_string(line) + " of a long message\r\n";
    f.append("Subject: one\r\n\r\nfirst\r\n");
    f.append(big);
    auto c = f.connect();
    EXPECT_EQ(Pop3Fixture::say(*c, "USER " + f.address_of(f.ann)).substr(0, 3), "+OK");
    EXPECT_EQ(Pop3Fixture::say(*c, "PASS right password").substr(0, 3), "+OK");
    const std::uint64_t after_login = f.readers->reads();
    EXPECT_GE(after_login, 2u);  // the account and the listing
    EXPECT_EQ(Pop3Fixture::say(*c, "STAT").substr(0, 6), "+OK 2 ");
    const std::string retr = Pop3Fixture::say(*c, "RETR 2", "\r\n.\r\n");
    EXPECT_NE(retr.find(big.substr(big.size() - 200)), std::string::npos);
    EXPECT_EQ(retr.size(), retr.find("\r\n") + 2 + big.size() + 3);
    EXPECT_GE(f.readers->reads(), after_login + 5);  // opened, then one read per 64 KiB chunk and the end
    ASSERT_TRUE(c->write("TOP 1 0\r\nNOOP\r\n"));
    EXPECT_NE(c->read_until("\r\n.\r\n").find("Subject: one\r\n\r\n.\r\n"), std::string::npos);
    EXPECT_EQ(c->read_until("\r\n").substr(0, 3), "+OK");
    EXPECT_EQ(Pop3Fixture::say(*c, "DELE 1").substr(0, 3), "+OK");
    EXPECT_EQ(Pop3Fixture::say(*c, "QUIT").substr(0, 3), "+OK");
    ASSERT_TRUE(wait_for([&] { return f.messages_of(f.ann).size() == 1; }));
}

TEST(Pop3ServiceTest, WrongPasswordAndUnknownUserGetTheSameAnswer) {
    Pop3Fixture f;
    auto wrong = f.connect();
    Pop3Fixture::say(*wrong, "USER " + f.address_of(f.ann));
    const std::string wrong_answer = Pop3Fixture::say(*wrong, "PASS not it");
    auto unknown = f.connect();
    Pop3Fixture::say(*unknown, "USER nobody@example.test");
    const std::string unknown_answer = Pop3Fixture::say(*unknown, "PASS not it");
    EXPECT_EQ(wrong_answer.substr(0, 4), "-ERR");
    EXPECT_EQ(wrong_answer, unknown_answer);
}

}  // namespace
}  // namespace vmx
