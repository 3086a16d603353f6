// The shipper against a real TLS collector on loopback (the product's own TLS server filter on a
// blocking socket): RFC 5425 framing, order, resumption after the collector drops the connection,
// certificate verification, and nothing lost while the collector is away.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include "appliance/ops/log_line.h"
#include "appliance/ops/log_shipper.h"
#include "appliance/ops/log_spool.h"
#include "tests/net/tls/tls_test_support.h"

namespace vmx {
namespace {

using net::test::TempDir;

// A syslog-over-TLS collector: parses octet-counted frames. cut_after(n): once n frames are in, it
// reads on until its peer pauses, keeping every frame, then closes, as a collector that stops
// cleanly does; it takes connections again at once.
class Collector {
public:
    explicit Collector(std::shared_ptr<const net::TlsServerContext> ctx) : ctx_(std::move(ctx)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        ::listen(listen_fd_, 8);
        thread_ = std::thread([this] { serve(); });
    }
    ~Collector() {
        stop_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        thread_.join();
        ::close(listen_fd_);
    }
    std::uint16_t port() const { return port_; }
    void cut_after(std::size_t frames) { cut_after_ = frames; }
    std::vector<std::string> frames() {
        std::lock_guard lock(mutex_);
        return frames_;
    }
    bool wait_for(std::size_t count, int ms = 10000) {
        for (int i = 0; i < ms / 10; ++i) {
            if (frames().size() >= count) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    std::atomic<int> connections{0};

private:
    void serve() {
        while (!stop_) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            ++connections;
            timeval tv{0, 30000};  // a pause this long ends a connection the test asked to cut
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            auto session = net::TlsSession::accept(*ctx_);
            std::string plain;
            char buf[16384];
            std::size_t this_connection = 0;
            bool closing = false;
            while (!stop_ && session) {
                const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                if (n == 0) break;
                if (n < 0) {
                    if ((errno == EAGAIN || errno == EINTR) && !closing) continue;
                    break;
                }
                if (!(*session)->feed(std::string_view(buf, static_cast<std::size_t>(n)), plain)) break;
                const std::string_view out = (*session)->outgoing();
                if (!out.empty()) (void)::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
                (*session)->clear_outgoing();
                bool cut = false;
                for (;;) {  // RFC 5425: MSG-LEN SP SYSLOG-MSG
                    const std::size_t space = plain.find(' ');
                    if (space == std::string::npos) break;
                    std::size_t length = 0;
                    std::from_chars(plain.data(), plain.data() + space, length);
                    if (plain.size() < space + 1 + length) break;
                    {
                        std::lock_guard lock(mutex_);
                        frames_.push_back(plain.substr(space + 1, length));
                    }
                    plain.erase(0, space + 1 + length);
                    if (cut_after_ > 0 && ++this_connection >= cut_after_) cut = true;
                }
                if (cut) {
                    cut_after_ = 0;
                    closing = true;
                }
            }
            ::close(fd);
        }
    }

    std::shared_ptr<const net::TlsServerContext> ctx_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> cut_after_{0};
    std::mutex mutex_;
    std::vector<std::string> frames_;
};

struct Fixture {
    Fixture() {
        auto key = crypto::SecretBytes::zeroed(log_key_bytes);
        std::memset(key.mutable_view().data(), 3, log_key_bytes);
        LogSpoolOptions options;
        options.shipping = true;
        auto opened = LogSpool::open(dir.path + "/spool", std::move(key), options);
        EXPECT_TRUE(opened);
        spool = std::move(*opened);
    }
    void add(std::size_t count) {
        std::vector<std::string> lines;
        for (std::size_t i = 0; i < count; ++i) {
            LogRecord r;
            r.time_us = 1796551418000000;
            const std::string text = "event=test.shipped i=" + std::to_string(spool->next_sequence() + i);
            r.length = static_cast<std::uint16_t>(text.size());
            std::memcpy(r.text, text.data(), text.size());
            lines.push_back(format_log_line(r, spool->next_sequence() + i, {"h", "vaultmxd", 1}));
        }
        ASSERT_TRUE(spool->append(lines));
    }
    std::unique_ptr<LogShipper> shipper(std::uint16_t port, std::string ca, std::uint64_t shipped = 0) {
        std::string detail;
        net::TlsClientOptions o;
        o.verify = net::TlsVerify::peer;
        o.ca_file = std::move(ca);
        o.session_resumption = false;
        auto ctx = net::TlsClientContext::create(o, detail);
        EXPECT_TRUE(ctx) << detail;
        LogShipperOptions options;
        options.host = "localhost";
        options.port = port;
        options.timeout_ms = 2000;
        options.retry_max_ms = 1000;
        options.batch_events = 50;
        return std::make_unique<LogShipper>(*spool, std::move(*ctx), options, shipped);
    }
    TempDir dir;
    std::unique_ptr<LogSpool> spool;
};

std::uint64_t sequence_of(const std::string& frame) {
    const auto fields = parse_log_line(frame);
    return fields ? fields->sequence : 0;
}

TEST(LogShipper, ShipsEveryEventInOrderAsOctetCountedSyslog) {
    Fixture fx;
    Collector collector(net::test::server_context());
    fx.add(120);
    auto shipper = fx.shipper(collector.port(), net::test::test_data("test-cert.pem"));
    shipper->start();
    fx.add(80);
    shipper->wake();
    ASSERT_TRUE(collector.wait_for(200));
    const auto frames = collector.frames();
    ASSERT_EQ(frames.size(), 200u);
    for (std::size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(sequence_of(frames[i]), i + 1) << frames[i];
    for (int i = 0; i < 200 && shipper->confirmed() < 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(shipper->confirmed(), 200u);
    EXPECT_EQ(collector.connections.load(), 1);
}

TEST(LogShipper, ResumesAfterTheCollectorStopsAndRepeatsNothing) {
    Fixture fx;
    Collector collector(net::test::server_context());
    collector.cut_after(30);
    fx.add(100);
    auto shipper = fx.shipper(collector.port(), net::test::test_data("test-cert.pem"));
    shipper->start();
    for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        fx.add(20);
        shipper->wake();
    }
    ASSERT_TRUE(collector.wait_for(200, 15000));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Every sequence once, in order: what the collector read before it closed was acknowledged.
    std::vector<std::uint64_t> seen;
    for (const std::string& f : collector.frames()) seen.push_back(sequence_of(f));
    ASSERT_EQ(seen.size(), 200u);
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
    EXPECT_GE(collector.connections.load(), 2);
}

TEST(LogShipper, HoldsEventsWhileTheCollectorIsDownAndStartsAfterTheMark) {
    Fixture fx;
    const std::uint16_t port = [] {
        Collector probe(net::test::server_context());
        return probe.port();
    }();
    fx.add(50);
    auto shipper = fx.shipper(port, net::test::test_data("test-cert.pem"), 10);  // 1..10 shipped before
    shipper->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(shipper->connected());
    CounterSnapshot counters;
    shipper->counters(counters);
    EXPECT_GT(counters["log.ship_connect_failures"], 0u);
    shipper->stop();
    EXPECT_EQ(shipper->confirmed(), 10u);
    // The collector is back (a new one): the shipper starts after the mark.
    Collector collector(net::test::server_context());
    auto second = fx.shipper(collector.port(), net::test::test_data("test-cert.pem"), shipper->confirmed());
    second->start();
    ASSERT_TRUE(collector.wait_for(40));
    EXPECT_EQ(sequence_of(collector.frames().front()), 11u);
    EXPECT_EQ(sequence_of(collector.frames().back()), 50u);
}

TEST(LogShipper, RefusesACollectorItsCaDidNotSign) {
    Fixture fx;
    TempDir certs;
    const auto stranger = net::test::make_cert(certs, "localhost");  // self-signed, not the test CA
    net::TlsServerOptions options;
    options.certificate = stranger;
    Collector collector(net::test::server_context(options));
    fx.add(5);
    auto shipper = fx.shipper(collector.port(), net::test::test_data("test-cert.pem"));
    shipper->start();
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_FALSE(shipper->connected());
    EXPECT_TRUE(collector.frames().empty());
    EXPECT_EQ(shipper->confirmed(), 0u);
}

}  // namespace
}  // namespace vmx
