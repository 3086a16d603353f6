// LogShipper: the write-only link to the ISP's log collector, on a thread of its own. It reads the
// sealed spool in sequence order and sends every event over TLS as RFC 5425 syslog (octet-counted
// RFC 5424 messages), verifying the collector's certificate against [log] ship_ca and presenting
// [log] ship_cert when one is set. Apart from the TLS handshake it never reads from the collector.
//
// Threads: start() runs the shipper thread; wake(), confirmed(), connected() and counters() may be
// called from any thread (the control thread after each append, and to persist confirmed() in the
// spool). The spool is only read here.
// Limits: batches of at most batch_events events and 1 MiB; a connect, handshake or send that makes no
// progress for timeout_ms fails the connection; reconnects back off from 1 s to retry_max_ms.
// Failure policy: RFC 5425 has no acknowledgement, so TCP's stands in. An event counts as delivered
// (confirmed()) once the collector's TCP stack has acknowledged every byte of it (SIOCOUTQ, looked
// at once more when the connection ends), and a new connection starts after the last confirmed
// event: nothing is lost
// while the collector is away (the spool keeps it) and a collector that stops and starts again
// gets every event once, in order. Events written but not acknowledged when a connection breaks
// are sent again; should the collector have read one of those, it drops the repeat by the
// sequence number in the structured data. The limit of RFC 5425 itself: an event the collector's
// kernel acknowledged but its process never read (killed at that instant, or closing with input
// unread) is not sent again; it stays in the local spool (`vaultmx logs show`). Sending the last
// seconds again after every reset was tried: rsyslog resets its connections when it stops, so
// that repeated events it had written.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "appliance/common/counters.h"
#include "appliance/ops/log_spool.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"

namespace vmx {

struct LogShipperOptions {
    std::string host;  // [log] ship_to's host (config/next_hop.h): also the name the certificate must carry
    std::uint16_t port = 6514;  // RFC 5425's
    std::uint32_t timeout_ms = 10000;
    std::uint32_t retry_max_ms = 30000;
    std::size_t batch_events = 1000;
};

class LogShipper {
public:
    // `shipped`: the last sequence the collector already has (persisted by the spool).
    LogShipper(const LogSpool& spool, std::shared_ptr<const net::TlsClientContext> tls, LogShipperOptions options,
               std::uint64_t shipped);
    ~LogShipper();
    LogShipper(const LogShipper&) = delete;
    LogShipper& operator=(const LogShipper&) = delete;

    void start();
    void stop();
    void wake();
    std::uint64_t confirmed() const noexcept { return confirmed_.load(std::memory_order_acquire); }
    bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
    void counters(CounterSnapshot& out) const;

private:
    void run();
    bool connect_once(std::string& why);
    bool handshake(std::string& why);
    bool send_all(std::string_view bytes);
    bool ship_batch();
    void update_confirmed();
    enum class Gone : std::uint8_t { no, closed, reset };
    Gone peer_gone() const;
    void disconnect();
    void wait_ms(std::uint32_t ms);

    const LogSpool& spool_;
    std::shared_ptr<const net::TlsClientContext> tls_;
    LogShipperOptions options_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;

    // Shipper thread only.
    int fd_ = -1;
    std::unique_ptr<net::TlsSession> session_;
    std::uint64_t sent_ = 0;           // the last sequence written to the current connection
    std::uint64_t bytes_written_ = 0;  // ciphertext bytes handed to the current connection
    std::deque<std::pair<std::uint64_t, std::uint64_t>> in_flight_;  // (bytes written after it, sequence)

    std::atomic<std::uint64_t> confirmed_;
    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> events_sent_{0};
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> connect_failures_{0};
    std::atomic<std::uint64_t> send_failures_{0};
};

}  // namespace vmx
