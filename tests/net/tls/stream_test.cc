// The stream layer on a real engine on loopback: implicit TLS echo driven by a wolfSSL client on a
// blocking socket, STARTTLS with pipelined bytes that must be discarded, handshake failures and
// timeouts, close_notify, back-pressure for a streaming sender, and 64 MiB transfer throughput.
#include <wolfssl/options.h>  // first: it fixes the layout of the other wolfSSL headers
#include <wolfssl/ssl.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <mutex>
#include <thread>

#include "core/engine.h"
#include "crypto/tls_crypto_device.h"
#include "net/stream/stream.h"
#include "tests/net/tls/tls_client.h"
#include "tests/net/tls/tls_test_support.h"
#include "tests/support/test_net.h"

namespace vmx::net {
namespace {

using vmx::testing::connect_local;
using vmx::testing::recv_exact;
using vmx::testing::send_all;
using vmx::testing::wait_until;

// What the handlers saw, read by the test thread.
struct Seen {
    std::atomic<int> opened{0};
    std::atomic<int> tls_started{0};
    std::atomic<int> tls_failed{0};
    std::atomic<int> timeouts{0};
    std::atomic<int> peer_closed{0};
    std::atomic<int> closed{0};
    std::atomic<std::size_t> queue_bytes_max{0};
    std::mutex mutex;
    TlsInfo info;  // of the last handshake
};

void note_tls(Seen& seen, const TlsInfo& info) {
    std::lock_guard lock(seen.mutex);
    seen.info = info;
    seen.tls_started++;
}

// Echo, with an optional greeting sent from on_open (held until an implicit handshake is done).
class EchoHandler final : public StreamHandler {
public:
    EchoHandler(Seen& seen, std::string greeting) : seen_(seen), greeting_(std::move(greeting)) {}
    void on_open(Stream& s) override {
        seen_.opened++;
        if (!greeting_.empty()) {
            EXPECT_TRUE(s.send(greeting_));
        }
    }
    std::size_t on_data(Stream& s, std::string_view plain) override {
        if (!s.send(plain)) s.close(CloseMode::now);
        return plain.size();
    }
    void on_tls_started(Stream&, const TlsInfo& info) override { note_tls(seen_, info); }
    void on_tls_failed(Stream&, std::error_code) override { seen_.tls_failed++; }
    void on_timeout(Stream&, TimeoutKind) override { seen_.timeouts++; }
    void on_peer_closed(Stream& s) override {
        seen_.peer_closed++;
        s.close(CloseMode::after_flush);
    }
    void on_close(Stream&) override { seen_.closed++; }

private:
    Seen& seen_;
    std::string greeting_;
};

// A line protocol with STARTTLS, in the shape of SMTP's: lines are answered "plain: ..." or
// "tls: ...", and the handler consumes only whole lines (the layer keeps a partial one).
class StartTlsHandler final : public StreamHandler {
public:
    explicit StartTlsHandler(Seen& seen) : seen_(seen) {}
    void on_open(Stream& s) override { EXPECT_TRUE(s.send("220 ready\r\n")); }
    std::size_t on_data(Stream& s, std::string_view plain) override {
        std::size_t used = 0;
        for (std::size_t end; (end = plain.find("\r\n", used)) != std::string_view::npos;) {
            const std::string_view line = plain.substr(used, end - used);
            used = end + 2;
            if (line.rfind("EHLO", 0) == 0) {  // enough SMTP for `openssl s_client -starttls smtp`
                EXPECT_TRUE(s.send(s.tls_active() ? "250 hello\r\n" : "250-hello\r\n250 STARTTLS\r\n"));
                continue;
            }
            if (line == "STARTTLS") {
                EXPECT_TRUE(s.send(s.tls_active() ? "454 TLS already active\r\n" : "220 go ahead\r\n"));
                if (!s.tls_active()) {
                    EXPECT_TRUE(s.start_tls());
                }
                return used;  // whatever follows was sent before the handshake: not ours to read
            }
            EXPECT_TRUE(s.send(std::string(s.tls_active() ? "tls: " : "plain: ") + std::string(line) + "\r\n"));
        }
        return used;
    }
    void on_tls_started(Stream&, const TlsInfo& info) override { note_tls(seen_, info); }
    void on_tls_failed(Stream&, std::error_code) override { seen_.tls_failed++; }

private:
    Seen& seen_;
};

// Deterministic bytes: position i holds block[i % block size].
const std::string& block() {
    static const std::string b = [] {
        std::string s(65536 + 13, '\0');
        std::uint32_t x = 12345;
        for (char& c : s) {
            x = x * 1103515245u + 12345u;
            c = static_cast<char>(x >> 16);
        }
        return s;
    }();
    return b;
}

// True when `piece` is what block() holds from stream position `at` on (memcmp: cheap enough that
// the throughput figures measure TLS, not the check).
bool matches_block(std::size_t at, std::string_view piece) {
    const std::string& b = block();
    while (!piece.empty()) {
        const std::size_t offset = at % b.size();
        const std::size_t n = std::min(piece.size(), b.size() - offset);
        if (std::memcmp(piece.data(), b.data() + offset, n) != 0) return false;
        piece.remove_prefix(n);
        at += n;
    }
    return true;
}

// "GET n\r\n" streams n bytes back the way POP3 RETR would: never more than the send queue holds.
// "PUT n\r\n" then n bytes: answered "OK n\r\n" once all arrived intact.
class TransferHandler final : public StreamHandler {
public:
    explicit TransferHandler(Seen& seen) : seen_(seen) {}
    std::size_t on_data(Stream& s, std::string_view plain) override {
        if (upload_left_ > 0) return take_upload(s, plain);
        const auto end = plain.find("\r\n");
        if (end == std::string_view::npos) return 0;
        const std::string line(plain.substr(0, end));
        const std::size_t n = std::stoull(line.substr(4));
        if (line.rfind("GET ", 0) == 0) {
            download_left_ = n;
            download_at_ = 0;
            pump(s);
        } else {
            upload_left_ = upload_total_ = n;
            upload_at_ = 0;
            upload_ok_ = true;
        }
        return end + 2;
    }
    void on_writable(Stream& s) override { pump(s); }
    void on_tls_started(Stream&, const TlsInfo& info) override { note_tls(seen_, info); }

private:
    std::size_t take_upload(Stream& s, std::string_view plain) {
        const std::size_t n = std::min(plain.size(), upload_left_);
        upload_ok_ &= matches_block(upload_at_, plain.substr(0, n));
        upload_at_ += n;
        upload_left_ -= n;
        if (upload_left_ == 0) {
            EXPECT_TRUE(s.send(upload_ok_ ? "OK " + std::to_string(upload_total_) + "\r\n" : "BAD\r\n"));
        }
        return n;
    }
    void pump(Stream& s) {
        const std::string& b = block();
        while (download_left_ > 0) {
            if (s.send_queue_full()) {
                s.want_writable();
                return;
            }
            const std::size_t offset = download_at_ % b.size();
            const std::size_t n = std::min({download_left_, std::size_t{16384}, b.size() - offset});
            if (!s.send(std::string_view(b).substr(offset, n))) {
                ADD_FAILURE() << "send refused while the queue was not full";
                s.close(CloseMode::now);
                return;
            }
            download_at_ += n;
            download_left_ -= n;
            const std::size_t queued = s.connection().send_queue_bytes();
            if (queued > seen_.queue_bytes_max.load()) seen_.queue_bytes_max = queued;
        }
    }
    Seen& seen_;
    std::size_t download_left_ = 0;
    std::size_t download_at_ = 0;
    std::size_t upload_left_ = 0;
    std::size_t upload_total_ = 0;
    std::size_t upload_at_ = 0;
    bool upload_ok_ = true;
};

EngineConfig small_config() {
    EngineConfig c;
    c.shards = 1;
    c.connections_per_shard_max = 256;
    c.recv_buffers = 64;
    c.ring_entries = 256;
    c.pin_threads = false;
    return c;
}

struct Running {
    Running(StreamOptions options, StreamHandlerFactory factory, EngineConfig config = small_config())
        : port(vmx::testing::pick_free_port()) {
        std::vector<ListenerSpec> listeners;
        listeners.push_back({"tls", *parse_socket_address("127.0.0.1:" + std::to_string(port)),
                             stream_service_factory(std::move(options), std::move(factory))});
        engine = std::make_unique<Engine>(config, std::move(listeners), nullptr);
        EXPECT_FALSE(engine->bind().has_value());
        EXPECT_TRUE(engine->start().has_value());
    }
    ~Running() {
        engine->request_stop();
        engine->join();
    }
    std::uint16_t port;
    std::unique_ptr<Engine> engine;
};

StreamOptions implicit_tls() {
    StreamOptions o;
    o.tls_mode = TlsMode::implicit;
    o.tls = test::server_context();
    return o;
}

using test::TlsClient;

TEST(StreamTls, ImplicitTlsEchoWithHeldGreeting) {
    Seen seen;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<EchoHandler>(seen, "+OK ready\r\n"); });
    auto cctx = test::client_context();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    EXPECT_EQ(client.read_exact(11), "+OK ready\r\n");  // sent in on_open, before the handshake
    for (int i = 0; i < 20; ++i) {
        const std::string line = "line " + std::to_string(i) + "\r\n";
        ASSERT_TRUE(client.write(line));
        EXPECT_EQ(client.read_exact(line.size()), line);
    }
    ASSERT_TRUE(wait_until([&] { return seen.tls_started.load() == 1; }));
    std::lock_guard lock(seen.mutex);
    EXPECT_EQ(seen.info.version, "TLSv1.3");
    EXPECT_EQ(seen.info.cipher, "TLS_AES_256_GCM_SHA384");
    EXPECT_EQ(seen.info.cipher_bits, 256);
    EXPECT_EQ(seen.info.server_name, "localhost");
}

TEST(StreamTls, ImplicitTls12EchoThroughTheCryptoDevice) {
    Seen seen;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<EchoHandler>(seen, ""); });
    auto cctx = test::client_context(TlsVersionMax::tls12);
    const auto before = crypto::tls_device_counters();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    const std::string payload(100000, 'z');
    std::thread writer([&] { EXPECT_TRUE(client.write(payload)); });
    EXPECT_EQ(client.read_exact(payload.size()), payload);
    writer.join();
    const auto after = crypto::tls_device_counters();
    EXPECT_GT(after.gcm_encrypts, before.gcm_encrypts + 10);
    ASSERT_TRUE(wait_until([&] { return seen.tls_started.load() == 1; }));
    std::lock_guard lock(seen.mutex);
    EXPECT_EQ(seen.info.version, "TLSv1.2");
    EXPECT_EQ(seen.info.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST(StreamTls, StartTlsDiscardsBytesPipelinedAfterTheCommand) {
    Seen seen;
    StreamOptions o;
    o.tls_mode = TlsMode::starttls;
    o.tls = test::server_context();
    Running r(o, [&](Stream&) { return std::make_unique<StartTlsHandler>(seen); });
    const int fd = connect_local(r.port);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(recv_exact(fd, 11), "220 ready\r\n");
    // A partial line is kept by the layer until its end arrives.
    ASSERT_TRUE(send_all(fd, "NO"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(send_all(fd, "OP\r\n"));
    EXPECT_EQ(recv_exact(fd, 13), "plain: NOOP\r\n");
    // The injection: a command pipelined behind STARTTLS in the same segment.
    ASSERT_TRUE(send_all(fd, "STARTTLS\r\nINJECTED\r\n"));
    EXPECT_EQ(recv_exact(fd, 14), "220 go ahead\r\n");
    auto cctx = test::client_context();
    TlsClient client(fd, *cctx);
    ASSERT_TRUE(client.handshake());
    ASSERT_TRUE(client.write("HELLO\r\n"));
    EXPECT_EQ(client.read_exact(12), "tls: HELLO\r\n");  // never "tls: INJECTED"
    ASSERT_TRUE(client.write("STARTTLS\r\n"));
    EXPECT_EQ(client.read_exact(24), "454 TLS already active\r\n");
    EXPECT_EQ(seen.tls_started.load(), 1);
}

TEST(StreamTls, StartTlsRefusedOnAPlainListener) {
    Seen seen;
    Running r(StreamOptions{}, [&](Stream&) { return std::make_unique<StartTlsHandler>(seen); });
    const int fd = connect_local(r.port);
    EXPECT_EQ(recv_exact(fd, 11), "220 ready\r\n");
    ASSERT_TRUE(send_all(fd, "HI\r\n"));
    EXPECT_EQ(recv_exact(fd, 11), "plain: HI\r\n");
    ::close(fd);
}

TEST(StreamTls, GarbageOnAnImplicitListenerFailsTheHandshakeAndCloses) {
    Seen seen;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<EchoHandler>(seen, "+OK\r\n"); });
    const int fd = connect_local(r.port);
    ASSERT_TRUE(send_all(fd, "EHLO plain.example\r\n"));
    std::string rest;
    char buf[256];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) rest.append(buf, static_cast<std::size_t>(n));
    EXPECT_EQ(rest.find("+OK"), std::string::npos);  // the held greeting never leaks in plain
    ::close(fd);
    ASSERT_TRUE(wait_until([&] { return seen.closed.load() == 1; }));
    EXPECT_EQ(seen.tls_failed.load(), 1);
    EXPECT_EQ(seen.tls_started.load(), 0);
}

TEST(StreamTls, SilentClientTimesOutDuringTheHandshake) {
    Seen seen;
    EngineConfig config = small_config();
    config.idle_timeout_ms = 300;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<EchoHandler>(seen, ""); }, config);
    const int fd = connect_local(r.port, 5000);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(vmx::testing::peer_closed(fd));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    EXPECT_EQ(seen.timeouts.load(), 1);
    ::close(fd);
}

TEST(StreamTls, CloseNotifyReachesTheHandler) {
    Seen seen;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<EchoHandler>(seen, ""); });
    auto cctx = test::client_context();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    ASSERT_TRUE(client.write("bye\r\n"));
    EXPECT_EQ(client.read_exact(5), "bye\r\n");
    wolfSSL_shutdown(client.ssl());
    EXPECT_TRUE(client.ended());
    ASSERT_TRUE(wait_until([&] { return seen.closed.load() == 1; }));
    EXPECT_EQ(seen.peer_closed.load(), 1);
}

double mib_per_s(std::size_t bytes, std::chrono::steady_clock::duration d) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0) / std::chrono::duration<double>(d).count();
}

TEST(StreamTls, StreamingDownloadOf64MiBKeepsTheSendQueueBounded) {
    Seen seen;
    const EngineConfig config = small_config();
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<TransferHandler>(seen); }, config);
    auto cctx = test::client_context();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    constexpr std::size_t total = 64u << 20;
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t cpu_before = r.engine->shard_cpu_ns();
    ASSERT_TRUE(client.write("GET " + std::to_string(total) + "\r\n"));
    std::size_t at = 0;
    bool intact = true;
    const std::size_t got = client.read(total, [&](std::string_view piece) {
        intact &= matches_block(at, piece);
        at += piece.size();
    });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(got, total);
    EXPECT_TRUE(intact);
    // A streaming sender never holds more than the queue limit plus one record in flight.
    EXPECT_LE(seen.queue_bytes_max.load(), config.send_queue_bytes_max + tls_ciphertext_bytes_max(16384));
    const auto cpu = std::chrono::nanoseconds(r.engine->shard_cpu_ns() - cpu_before);
    std::printf("[ metric ] TLS 1.3 download through the engine: %.0f MiB/s wall, %.0f MiB per shard CPU second "
                "(64 MiB, send queue max %zu bytes)\n",
                mib_per_s(total, elapsed), mib_per_s(total, cpu), seen.queue_bytes_max.load());
}

TEST(StreamTls, Upload64MiB) {
    Seen seen;
    Running r(implicit_tls(), [&](Stream&) { return std::make_unique<TransferHandler>(seen); });
    auto cctx = test::client_context();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    constexpr std::size_t total = 64u << 20;
    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t cpu_before = r.engine->shard_cpu_ns();
    ASSERT_TRUE(client.write("PUT " + std::to_string(total) + "\r\n"));
    const std::string& b = block();
    std::string chunk;
    for (std::size_t at = 0; at < total; at += chunk.size()) {
        const std::size_t offset = at % b.size();
        chunk.assign(b, offset, std::min(total - at, b.size() - offset));
        ASSERT_TRUE(client.write(chunk));
    }
    const std::string reply = "OK " + std::to_string(total) + "\r\n";
    EXPECT_EQ(client.read_exact(reply.size()), reply);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    const auto cpu = std::chrono::nanoseconds(r.engine->shard_cpu_ns() - cpu_before);
    std::printf("[ metric ] TLS 1.3 upload through the engine: %.0f MiB/s wall, %.0f MiB per shard CPU second (64 MiB)\n",
                mib_per_s(total, elapsed), mib_per_s(total, cpu));
}

// Waits (as an adapter waits for the store) before taking input: returns 0 while waiting, and a
// shard timer later re-finds the connection by id and asks for the kept input again.
class WaitingHandler final : public StreamHandler {
public:
    std::size_t on_data(Stream& s, std::string_view plain) override {
        if (waiting_) {
            if (!timer_set_) {
                timer_set_ = true;
                const ConnectionId id = s.connection().id();
                s.connection().shard().schedule(50, [this, id](Shard& shard) {
                    Connection* c = shard.find(id);
                    if (c == nullptr) return;  // closed meanwhile: the handler is gone too
                    waiting_ = false;
                    static_cast<Stream*>(c->context())->redeliver();
                });
            }
            return 0;
        }
        EXPECT_TRUE(s.send(plain));
        return plain.size();
    }

private:
    bool waiting_ = true;
    bool timer_set_ = false;
};

TEST(StreamTls, KeptInputIsRedeliveredWhenTheHandlerAsks) {
    Running r(implicit_tls(), [](Stream&) { return std::make_unique<WaitingHandler>(); });
    auto cctx = test::client_context();
    TlsClient client(connect_local(r.port), *cctx);
    ASSERT_TRUE(client.handshake());
    ASSERT_TRUE(client.write("first "));
    ASSERT_TRUE(client.write("second\r\n"));
    EXPECT_EQ(client.read_exact(14), "first second\r\n");
}

// Never consumes: what the layer keeps for it is bounded, and past the bound the connection ends.
class HoardingHandler final : public StreamHandler {
public:
    std::size_t on_data(Stream&, std::string_view) override { return 0; }
};

TEST(StreamTls, UnconsumedInputIsBounded) {
    StreamOptions o;
    o.unconsumed_bytes_max = 4096;
    Running r(o, [](Stream&) { return std::make_unique<HoardingHandler>(); });
    const int fd = connect_local(r.port);
    (void)send_all(fd, std::string(100000, 'x'));  // may fail part-way once the server has closed
    EXPECT_TRUE(vmx::testing::peer_closed(fd));
    ::close(fd);
}

// ---------------------------------------------------------------- OpenSSL's client

// Runs a shell command line; its stdout and stderr together.
std::string run(const std::string& command) {
    std::string out;
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) return out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    ::pclose(p);
    return out;
}

bool has_openssl() { return run("command -v openssl").find("openssl") != std::string::npos; }

std::string s_client(std::uint16_t port, const std::string& args, const std::string& input = "hello") {
    // The sleep keeps stdin open long enough for TLS 1.3 tickets to arrive before s_client quits.
    return run("(echo " + input + "; sleep 0.3) | timeout 10 openssl s_client -connect 127.0.0.1:" +
               std::to_string(port) + " -servername localhost " + args);
}

TEST(StreamTlsOpenssl, VersionsSuitesAndResumptionAsOpensslSeesThem) {
    ASSERT_TRUE(has_openssl()) << "openssl is installed by scripts/install-deps";
    Seen seen;
    auto echo = [&](Stream&) { return std::make_unique<EchoHandler>(seen, ""); };
    Running first(implicit_tls(), echo);
    Running second(implicit_tls(), echo);  // another context: another ticket key
    test::TempDir dir;
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
        const std::string session = dir.file(std::string(version + 1) + ".pem");
        const std::string opts = std::string(version) + " -CAfile " + test::test_data("test-cert.pem");
        const std::string fresh = s_client(first.port, opts + " -sess_out " + session);
        EXPECT_NE(fresh.find("Verify return code: 0 (ok)"), std::string::npos) << fresh;
        EXPECT_NE(fresh.find("New, TLSv1.") , std::string::npos) << fresh;
        const std::string again = s_client(first.port, opts + " -sess_in " + session);
        EXPECT_NE(again.find("Reused, TLSv1."), std::string::npos) << version << "\n" << again;
        const std::string other = s_client(second.port, opts + " -sess_in " + session);
        EXPECT_NE(other.find("New, TLSv1."), std::string::npos) << version << "\n" << other;
    }
    const std::string old = s_client(first.port, "-tls1_1");
    EXPECT_NE(old.find("alert protocol version"), std::string::npos) << old;
    const std::string cbc = s_client(first.port, "-tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384");
    EXPECT_NE(cbc.find("alert handshake failure"), std::string::npos) << cbc;
    // Client-initiated renegotiation (a CPU-exhaustion lever) is refused: s_client's "R" command.
    const std::string renegotiate = s_client(first.port, "-tls1_2", "R");
    EXPECT_NE(renegotiate.find("RENEGOTIATING"), std::string::npos) << renegotiate;
    EXPECT_NE(renegotiate.find("alert unexpected message"), std::string::npos) << renegotiate;
}

TEST(StreamTlsOpenssl, StarttlsSmtp) {
    ASSERT_TRUE(has_openssl()) << "openssl is installed by scripts/install-deps";
    Seen seen;
    StreamOptions o;
    o.tls_mode = TlsMode::starttls;
    o.tls = test::server_context();
    Running r(o, [&](Stream&) { return std::make_unique<StartTlsHandler>(seen); });
    const std::string out = s_client(r.port, "-crlf -starttls smtp -CAfile " + test::test_data("test-cert.pem"));
    EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
    EXPECT_NE(out.find("tls: hello"), std::string::npos) << out;
    EXPECT_EQ(seen.tls_started.load(), 1);
}

}  // namespace
}  // namespace vmx::net
