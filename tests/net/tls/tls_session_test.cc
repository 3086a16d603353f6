// TlsSession in memory: client and server sessions joined by a pump, no sockets. Handshakes (1.2,
// 1.3), data both ways, large transfers, refused versions and suites, SNI, resumption, garbage,
// close, the memory an idle session holds, and context errors naming their files.
#include <wolfssl/options.h>  // first: it fixes the layout of the other wolfSSL headers
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/memory.h>

#include <gtest/gtest.h>
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <map>
#include <vector>

#include "net/errc.h"
#include "net/stream/stream.h"
#include "tests/net/tls/tls_test_support.h"

namespace vmx::net {
namespace {

using test::client_context;
using test::Pump;
using test::server_context;

std::string pattern(std::size_t bytes, std::uint32_t seed) {
    std::string s(bytes, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (char& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return s;
}

struct Pair {
    explicit Pair(std::shared_ptr<const TlsServerContext> sctx = server_context(),
                  std::shared_ptr<const TlsClientContext> cctx = client_context(), std::string sni = "localhost",
                  WOLFSSL_SESSION* resume = nullptr)
        : server_ctx(std::move(sctx)), client_ctx(std::move(cctx)) {
        auto c = TlsSession::connect(*client_ctx, sni, resume);
        auto s = TlsSession::accept(*server_ctx);
        EXPECT_TRUE(c && s);
        client = std::move(*c);
        server = std::move(*s);
    }
    bool handshake() {
        Pump p(*client, *server);
        const bool ok = p.run();
        error = p.error;
        why = "client wolf error " + std::to_string(client->wolf_error()) + ", server wolf error " +
              std::to_string(server->wolf_error());
        return ok && client->handshake_done() && server->handshake_done();
    }
    std::string why;
    // Sends `data` from one end and collects it at the other, in writes of `chunk` bytes.
    std::string transfer(TlsSession& from, TlsSession& to, std::string_view data, std::size_t chunk) {
        std::string got;
        while (!data.empty()) {
            const std::size_t n = std::min(chunk, data.size());
            EXPECT_TRUE(from.write(data.substr(0, n)));
            data.remove_prefix(n);
            const std::string bytes(from.outgoing());
            from.clear_outgoing();
            EXPECT_LE(bytes.size(), tls_ciphertext_bytes_max(n));
            EXPECT_TRUE(to.feed(bytes, got));
        }
        return got;
    }
    std::shared_ptr<const TlsServerContext> server_ctx;
    std::shared_ptr<const TlsClientContext> client_ctx;
    std::unique_ptr<TlsSession> client;
    std::unique_ptr<TlsSession> server;
    std::error_code error;
};

TEST(TlsSession, Tls13HandshakeAndDataBothWays) {
    Pair p;
    ASSERT_TRUE(p.handshake()) << p.error.message();
    const TlsInfo info = p.server->info();
    EXPECT_EQ(info.version, "TLSv1.3");
    EXPECT_EQ(info.cipher, "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(info.cipher_iana, "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(info.cipher_bits, 256);
    EXPECT_EQ(info.server_name, "localhost");
    EXPECT_FALSE(info.resumed);
    EXPECT_EQ(p.transfer(*p.client, *p.server, "EHLO client\r\n", 1024), "EHLO client\r\n");
    EXPECT_EQ(p.transfer(*p.server, *p.client, "250 ok\r\n", 1024), "250 ok\r\n");
}

TEST(TlsSession, Tls12HandshakeUsesEcdheAesGcm) {
    Pair p(server_context(), client_context(TlsVersionMax::tls12));
    ASSERT_TRUE(p.handshake()) << p.error.message();
    const TlsInfo info = p.server->info();
    EXPECT_EQ(info.version, "TLSv1.2");
    EXPECT_EQ(info.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
    EXPECT_EQ(info.cipher_iana, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    EXPECT_EQ(info.cipher_bits, 256);
    EXPECT_EQ(p.transfer(*p.client, *p.server, "hello", 16), "hello");
}

TEST(TlsSession, RsaCertificateGivesEcdheRsa) {
    TlsServerOptions o;
    o.certificate = {test::test_data("test-rsa-cert.pem"), test::test_data("test-rsa-key.pem")};
    Pair p(server_context(o), client_context(TlsVersionMax::tls12, TlsVerify::none));
    ASSERT_TRUE(p.handshake()) << p.error.message();
    EXPECT_EQ(p.server->info().cipher, "ECDHE-RSA-AES256-GCM-SHA384");
}

TEST(TlsSession, LargeTransfersBothWaysInVariousWriteSizes) {
    for (const int version : {12, 13}) {
        Pair p(server_context(), client_context(version == 12 ? TlsVersionMax::tls12 : TlsVersionMax::tls13));
        ASSERT_TRUE(p.handshake()) << p.error.message();
        const std::string up = pattern(8 * 1024 * 1024 + 3, 1);
        const std::string down = pattern(8 * 1024 * 1024 + 5, 2);
        EXPECT_TRUE(p.transfer(*p.client, *p.server, up, 65536 + 7) == up) << version;
        EXPECT_TRUE(p.transfer(*p.server, *p.client, down, 1000) == down) << version;
    }
}

TEST(TlsSession, HandshakeFedOneByteAtATime) {
    Pair p;
    std::string plain;
    for (int round = 0; round < 8 && !(p.client->handshake_done() && p.server->handshake_done()); ++round) {
        for (auto [from, to] : {std::pair{p.client.get(), p.server.get()}, std::pair{p.server.get(), p.client.get()}}) {
            const std::string bytes(from->outgoing());
            from->clear_outgoing();
            for (char c : bytes) ASSERT_TRUE(to->feed(std::string_view(&c, 1), plain));
        }
    }
    ASSERT_TRUE(p.client->handshake_done() && p.server->handshake_done());
    ASSERT_TRUE(p.client->write("split"));
    const std::string bytes(p.client->outgoing());
    p.client->clear_outgoing();
    for (char c : bytes) ASSERT_TRUE(p.server->feed(std::string_view(&c, 1), plain));
    EXPECT_EQ(plain, "split");
}

TEST(TlsSession, WriteBeforeHandshakeIsRefused) {
    Pair p;
    const auto r = p.server->write("too early");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), NetErrc::tls_not_ready);
}

// A raw wolfSSL client with its own method and suites, to offer what our policy must refuse.
struct RawClient {
    RawClient(WOLFSSL_METHOD* method, const char* ciphers) {
        wolfSSL_Init();
        ctx = wolfSSL_CTX_new(method);
        wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
        if (ciphers) {
            EXPECT_EQ(wolfSSL_CTX_set_cipher_list(ctx, ciphers), WOLFSSL_SUCCESS);
        }
        ssl = wolfSSL_new(ctx);
        wolfSSL_SSLSetIORecv(ssl, recv_cb);
        wolfSSL_SSLSetIOSend(ssl, send_cb);
        wolfSSL_SetIOReadCtx(ssl, this);
        wolfSSL_SetIOWriteCtx(ssl, this);
    }
    ~RawClient() {
        wolfSSL_free(ssl);
        wolfSSL_CTX_free(ctx);
        wolfSSL_Cleanup();
    }
    static int recv_cb(WOLFSSL*, char* buf, int sz, void* c) {
        auto& self = *static_cast<RawClient*>(c);
        if (self.in.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
        const auto n = std::min(self.in.size(), static_cast<std::size_t>(sz));
        std::memcpy(buf, self.in.data(), n);
        self.in.erase(0, n);
        return static_cast<int>(n);
    }
    static int send_cb(WOLFSSL*, char* buf, int sz, void* c) {
        static_cast<RawClient*>(c)->out.append(buf, static_cast<std::size_t>(sz));
        return sz;
    }
    // Runs the handshake against `server`; the server's result.
    Result<void> handshake_with(TlsSession& server) {
        std::string plain;
        for (int i = 0; i < 16; ++i) {
            wolfSSL_connect(ssl);
            if (out.empty()) break;
            auto r = server.feed(out, plain);
            out.clear();
            in += server.outgoing();
            server.clear_outgoing();
            if (!r) return r;
        }
        return {};
    }
    WOLFSSL_CTX* ctx;
    WOLFSSL* ssl;
    std::string in;
    std::string out;
};

TEST(TlsSession, RefusesTls11Client) {
    auto sctx = server_context();
    auto server = TlsSession::accept(*sctx);
    ASSERT_TRUE(server);
    RawClient client(wolfTLSv1_1_client_method(), nullptr);
    const auto r = client.handshake_with(**server);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), NetErrc::tls_handshake_failed);
    EXPECT_FALSE((*server)->handshake_done());
}

TEST(TlsSession, RefusesSuitesWithoutForwardSecrecyOrAead) {
    auto sctx = server_context();
    // This wolfSSL has no static-RSA suites; what it has and we must refuse: anonymous, null,
    // RC4, 3DES, CBC, DHE (we offer ECDHE only), and TLS 1.3's integrity-only and CCM-8 suites.
    struct Case {
        bool tls13;
        const char* suites;
    };
    for (const Case& c : {Case{false, "ADH-AES256-GCM-SHA384"}, Case{false, "ECDHE-ECDSA-NULL-SHA"},
                          Case{false, "ECDHE-ECDSA-RC4-SHA"}, Case{false, "ECDHE-ECDSA-DES-CBC3-SHA"},
                          Case{false, "ECDHE-ECDSA-AES256-SHA"}, Case{false, "DHE-RSA-AES256-GCM-SHA384"},
                          Case{true, "TLS13-SHA384-SHA384"}, Case{true, "TLS13-AES128-CCM-8-SHA256"}}) {
        auto server = TlsSession::accept(*sctx);
        ASSERT_TRUE(server);
        RawClient client(c.tls13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method(), c.suites);
        const auto r = client.handshake_with(**server);
        EXPECT_FALSE(r) << c.suites;
        EXPECT_FALSE((*server)->handshake_done()) << c.suites;
    }
}

TEST(TlsSession, SniPicksTheConfiguredCertificate) {
    test::TempDir dir;
    TlsServerOptions o;
    o.sni["mail.example.org"] = test::make_cert(dir, "mail.example.org");
    o.sni["MX.Example.NET"] = test::make_cert(dir, "mx.example.net");
    auto sctx = server_context(o);
    EXPECT_EQ(sctx->sni_names(), 2u);
    struct Case {
        const char* sni;
        const char* ca;
        const char* expected_cn;
    };
    for (const Case& c : {Case{"mail.example.org", "mail.example.org.crt", "mail.example.org"},
                          Case{"MX.EXAMPLE.NET", "mx.example.net.crt", "mx.example.net"},
                          Case{"localhost", nullptr, "localhost"}}) {
        const std::string ca = c.ca ? dir.file(c.ca) : test::test_data("test-cert.pem");
        auto cctx = client_context(TlsVersionMax::tls13, TlsVerify::peer, ca);
        Pair p(sctx, cctx, c.sni);
        ASSERT_TRUE(p.handshake()) << c.sni << ": " << p.error.message();  // verified against its own CA
        EXPECT_EQ(p.server->info().server_name, c.sni);
        // TLS 1.2 as well: the certificate is chosen before the suite.
        Pair p12(sctx, client_context(TlsVersionMax::tls12, TlsVerify::peer, ca), c.sni);
        EXPECT_TRUE(p12.handshake()) << c.sni << " (TLS 1.2): " << p12.error.message();
    }
}

TEST(TlsSession, WrongCertificateFailsVerification) {
    test::TempDir dir;
    TlsServerOptions o;
    o.sni["mail.example.org"] = test::make_cert(dir, "mail.example.org");
    // The client trusts only localhost's certificate but asks for mail.example.org.
    Pair p(server_context(o), client_context(), "mail.example.org");
    EXPECT_FALSE(p.handshake());
}

void expect_resumption(TlsVersionMax max, std::uint32_t lifetime_s = 3600) {
    TlsServerOptions o;
    o.ticket_lifetime_s = lifetime_s;
    auto sctx = server_context(o);
    auto cctx = client_context(max);
    WOLFSSL_SESSION* saved = nullptr;
    {
        Pair first(sctx, cctx);
        ASSERT_TRUE(first.handshake());
        // TLS 1.3 tickets follow the handshake: let the client read them with some data.
        EXPECT_EQ(first.transfer(*first.server, *first.client, "x", 16), "x");
        saved = first.client->take_resumable_session();
        ASSERT_NE(saved, nullptr);
        EXPECT_FALSE(first.server->info().resumed);
    }
    Pair second(sctx, cctx, "localhost", saved);
    ASSERT_TRUE(second.handshake()) << second.why;
    EXPECT_TRUE(second.server->info().resumed);
    EXPECT_TRUE(second.client->info().resumed);
    EXPECT_EQ(second.transfer(*second.client, *second.server, "again", 16), "again");
    // Another context (another ticket key, as after a restart): a full handshake, not a failure.
    // Not checked for TLS 1.2: wolfSSL's 1.2 client then fails (OUT_OF_ORDER_E) although our
    // server answers correctly, as OpenSSL's client shows (StreamTlsOpenssl in stream_test.cc).
    if (max == TlsVersionMax::tls13) {
        Pair elsewhere(server_context(o), cctx, "localhost", saved);
        ASSERT_TRUE(elsewhere.handshake()) << elsewhere.why;
        EXPECT_FALSE(elsewhere.server->info().resumed);
    }
    wolfSSL_SESSION_free(saved);
}

TEST(TlsSession, ResumesTls13WithATicket) { expect_resumption(TlsVersionMax::tls13); }
TEST(TlsSession, ResumesTls12) { expect_resumption(TlsVersionMax::tls12); }
// wolfSSL's own ticket key (rotated hourly) failed handshakes outright with lifetimes over an hour,
// and within seconds with an hour; ours has no such limit.
TEST(TlsSession, ResumesWithADayLongTicket) { expect_resumption(TlsVersionMax::tls13, tls_ticket_lifetime_s_max); }

TEST(TlsSession, ManyHandshakesOnOneContext) {
    auto sctx = server_context();
    auto cctx = client_context();
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    while (done < 3000 && std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500)) {
        Pair p(sctx, cctx);
        ASSERT_TRUE(p.handshake()) << "handshake " << done << ": " << p.why;
        ++done;
    }
    EXPECT_GT(done, 50);
}

TEST(TlsSession, GarbageIsACleanHandshakeError) {
    auto sctx = server_context();
    for (const std::string& garbage : {std::string("GET / HTTP/1.0\r\n\r\n"), std::string("EHLO x\r\n"),
                                      std::string("\x16\x03\x01\xff\xff", 5) + std::string(70000, 'A'),
                                      std::string("\x17\x03\x03\x00\x10", 5) + std::string(16, 'B'),
                                      pattern(100000, 9)}) {
        auto s = TlsSession::accept(*sctx);
        ASSERT_TRUE(s);
        std::string plain;
        const auto r = (*s)->feed(garbage, plain);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), NetErrc::tls_handshake_failed);
        EXPECT_TRUE(plain.empty());
        EXPECT_EQ((*s)->state(), TlsState::failed);
        EXPECT_NE((*s)->wolf_error(), 0);
        EXPECT_FALSE((*s)->feed("more", plain));  // refuses further use
    }
}

TEST(TlsSession, TamperedRecordAfterHandshakeIsAProtocolError) {
    Pair p;
    ASSERT_TRUE(p.handshake());
    ASSERT_TRUE(p.client->write("secret"));
    std::string bytes(p.client->outgoing());
    p.client->clear_outgoing();
    bytes[bytes.size() - 3] ^= 1;
    std::string plain;
    const auto r = p.server->feed(bytes, plain);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), NetErrc::tls_protocol);
    EXPECT_TRUE(plain.empty());
    EXPECT_FALSE(p.server->outgoing().empty());  // the bad_record_mac alert
}

TEST(TlsSession, PeerCloseNotify) {
    Pair p;
    ASSERT_TRUE(p.handshake());
    ASSERT_TRUE(p.client->write("last words"));
    p.client->shutdown();
    std::string bytes(p.client->outgoing());
    p.client->clear_outgoing();
    std::string plain;
    ASSERT_TRUE(p.server->feed(bytes, plain));
    EXPECT_EQ(plain, "last words");
    EXPECT_EQ(p.server->state(), TlsState::peer_closed);
    EXPECT_FALSE(p.client->write("after close"));
}

// ---------------------------------------------------------------- context errors

TEST(TlsContext, ErrorsNameTheFile) {
    test::TempDir dir;
    const auto other = test::make_cert(dir, "other.example");
    struct Case {
        TlsCertificatePaths paths;
        NetErrc code;
        std::string named;
    };
    const std::string missing = dir.file("missing.pem");
    for (const Case& c : {Case{{missing, test::test_data("test-key.pem")}, NetErrc::tls_certificate_invalid, missing},
                          Case{{test::test_data("test-cert.pem"), missing}, NetErrc::tls_key_invalid, missing},
                          Case{{test::test_data("test-cert.pem"), test::test_data("test-cert.pem")},
                               NetErrc::tls_key_invalid, test::test_data("test-cert.pem")},
                          Case{{test::test_data("test-cert.pem"), other.key_path}, NetErrc::tls_key_mismatch,
                               other.key_path}}) {
        std::string detail;
        TlsServerOptions o;
        o.certificate = c.paths;
        auto r = TlsServerContext::create(o, detail);
        ASSERT_FALSE(r) << c.named;
        EXPECT_EQ(r.error(), c.code) << detail;
        EXPECT_NE(detail.find(c.named), std::string::npos) << detail;
    }
    // A broken per-domain certificate fails the whole context, naming its file.
    std::string detail;
    TlsServerOptions o;
    o.certificate = test::default_paths();
    o.sni["mail.example.org"] = {missing, other.key_path};
    auto r = TlsServerContext::create(o, detail);
    ASSERT_FALSE(r);
    EXPECT_NE(detail.find(missing), std::string::npos) << detail;
}

// ---------------------------------------------------------------- memory of an idle session

// wolfSSL's allocations, counted two ways: bytes asked for, and bytes the allocator handed out
// (its size classes round up). Only while the test's allocators are installed.
std::int64_t wolf_bytes_requested = 0;
std::int64_t wolf_bytes_usable = 0;
std::map<void*, std::size_t>* wolf_blocks = nullptr;

void note_alloc(void* p, std::size_t size) {
    wolf_bytes_requested += static_cast<std::int64_t>(size);
    wolf_bytes_usable += static_cast<std::int64_t>(malloc_usable_size(p));
    (*wolf_blocks)[p] = size;
}
void note_free(void* p) {
    const auto it = wolf_blocks->find(p);
    if (it == wolf_blocks->end()) return;  // allocated before the allocators were installed
    wolf_bytes_requested -= static_cast<std::int64_t>(it->second);
    wolf_bytes_usable -= static_cast<std::int64_t>(malloc_usable_size(p));
    wolf_blocks->erase(it);
}
void* counting_malloc(std::size_t size) {
    void* p = std::malloc(size);
    if (p) note_alloc(p, size);
    return p;
}
void counting_free(void* p) {
    if (p) note_free(p);
    std::free(p);
}
void* counting_realloc(void* p, std::size_t size) {
    if (p) note_free(p);
    void* q = std::realloc(p, size);
    if (q) note_alloc(q, size);
    return q;
}

// The server side of established, idle sessions after some traffic: wolfSSL's allocations plus
// our buffers and object. Target: at most 64 KiB. Most of it is wolfSSL's own session object,
// whose size Debian's build options fix (DTLS, SESSION_CERTS, OPENSSL_ALL); no API trims it.
TEST(TlsSession, IdleAndHostileSessionMemoryIsBounded) {
    wolfSSL_Malloc_cb mf;
    wolfSSL_Free_cb ff;
    wolfSSL_Realloc_cb rf;
    ASSERT_EQ(wolfSSL_GetAllocators(&mf, &ff, &rf), 0);
    std::map<void*, std::size_t> blocks;
    wolf_blocks = &blocks;
    ASSERT_EQ(wolfSSL_SetAllocators(counting_malloc, counting_free, counting_realloc), 0);
    auto sctx = server_context();
    for (const auto max : {TlsVersionMax::tls13, TlsVersionMax::tls12}) {
        auto cctx = client_context(max);
        { Pair warm(sctx, cctx); ASSERT_TRUE(warm.handshake()); }  // process-wide tables, once
        constexpr int sessions = 64;
        const std::int64_t requested_before = wolf_bytes_requested;
        const std::int64_t usable_before = wolf_bytes_usable;
        std::vector<std::unique_ptr<TlsSession>> servers;
        std::size_t own_bytes = 0;
        for (int i = 0; i < sessions; ++i) {
            Pair p(sctx, cctx);
            ASSERT_TRUE(p.handshake()) << p.why;
            EXPECT_EQ(p.transfer(*p.client, *p.server, pattern(40000, 3), 16384).size(), 40000u);
            EXPECT_EQ(p.transfer(*p.server, *p.client, pattern(40000, 4), 16384).size(), 40000u);
            own_bytes += p.server->buffer_bytes() + sizeof(TlsSession);
            servers.push_back(std::move(p.server));  // the client is freed here
        }
        const auto requested = static_cast<std::size_t>((wolf_bytes_requested - requested_before) / sessions);
        const auto usable = static_cast<std::size_t>((wolf_bytes_usable - usable_before) / sessions);
        own_bytes /= sessions;
        std::printf("[ metric ] idle %s server session: %zu bytes (wolfSSL %zu requested, %zu from the allocator; ours %zu)\n",
                    max == TlsVersionMax::tls13 ? "TLS 1.3" : "TLS 1.2", requested + own_bytes, requested, usable, own_bytes);
        EXPECT_LE(requested + own_bytes, 64u * 1024u);
    }
    std::printf("[ metric ] per TLS connection in the stream layer add sizeof(Stream) = %zu bytes and the handler\n",
                sizeof(Stream));
    // A hostile handshake: one ClientHello announced at 16 MiB, sent as 16 KiB fragments. wolfSSL
    // must refuse it early instead of buffering it.
    {
        const std::int64_t before = wolf_bytes_requested;
        std::int64_t peak = 0;
        auto s = TlsSession::accept(*sctx);
        ASSERT_TRUE(s);
        std::string plain;
        bool refused = false;
        for (int i = 0; i < 256 && !refused; ++i) {
            std::string record("\x16\x03\x03\x40\x00", 5);
            std::string body(16384, 'A');
            if (i == 0) body.replace(0, 4, std::string("\x01\xff\xff\xff", 4));
            refused = !(*s)->feed(record + body, plain);
            (*s)->clear_outgoing();
            peak = std::max(peak, wolf_bytes_requested - before);
        }
        EXPECT_TRUE(refused);
        EXPECT_LT(peak, 256 * 1024) << "wolfSSL buffered a hostile handshake message";
        std::printf("[ metric ] hostile 16 MiB ClientHello: refused, wolfSSL peak %lld bytes\n", static_cast<long long>(peak));
    }
    ASSERT_EQ(wolfSSL_SetAllocators(mf, ff, rf), 0);
    wolf_blocks = nullptr;
}

}  // namespace
}  // namespace vmx::net
