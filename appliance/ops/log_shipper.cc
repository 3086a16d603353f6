// The log shipper (see log_shipper.h).
#include "appliance/ops/log_shipper.h"

#include <linux/sockios.h>
#include <netdb.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>

#include "core/clock.h"
#include "core/log.h"

namespace vmx {
namespace {

constexpr std::size_t batch_bytes_max = std::size_t{1} << 20;
constexpr std::uint32_t retry_min_ms = 1000;
constexpr std::uint32_t idle_check_ms = 200;  // how often an idle link looks at the peer and its acks

// Milliseconds left until `deadline_ms` (monotonic), at least 0.
int left_ms(std::uint64_t deadline_ms) {
    const std::uint64_t now = monotonic_ms();
    return now >= deadline_ms ? 0 : static_cast<int>(std::min<std::uint64_t>(deadline_ms - now, 60000));
}

bool wait_for(int fd, short events, std::uint64_t deadline_ms) {
    pollfd p{fd, events, 0};
    for (;;) {
        const int n = ::poll(&p, 1, left_ms(deadline_ms));
        if (n < 0 && errno == EINTR) continue;
        return n > 0 && (p.revents & (events | POLLERR | POLLHUP)) != 0;
    }
}

}  // namespace

LogShipper::LogShipper(const LogSpool& spool, std::shared_ptr<const net::TlsClientContext> tls,
                       LogShipperOptions options, std::uint64_t shipped)
    : spool_(spool), tls_(std::move(tls)), options_(std::move(options)), sent_(shipped), confirmed_(shipped) {}

LogShipper::~LogShipper() { stop(); }

void LogShipper::start() { thread_ = std::thread([this] { run(); }); }

void LogShipper::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    disconnect();
}

void LogShipper::wake() {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    cv_.notify_one();
}

void LogShipper::wait_ms(std::uint32_t ms) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_ || woken_; });
    woken_ = false;
}

void LogShipper::counters(CounterSnapshot& out) const {
    out.add("log.shipped", events_sent_);
    out.add("log.ship_connects", connects_);
    out.add("log.ship_connect_failures", connect_failures_);
    out.add("log.ship_send_failures", send_failures_);
}

void LogShipper::run() {
    std::uint32_t backoff_ms = retry_min_ms;
    bool reported_down = false;
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
        }
        if (fd_ < 0) {
            std::string why;
            if (!connect_once(why)) {
                connect_failures_.fetch_add(1, std::memory_order_relaxed);
                if (!reported_down)  // once per outage: the spool is not filled with our own retries
                    log_event(LogLevel::warn, "log.ship_failed", "to={}:{} reason={}", options_.host, options_.port, why);
                reported_down = true;
                wait_ms(backoff_ms);
                backoff_ms = std::min(backoff_ms * 2, std::max(options_.retry_max_ms, retry_min_ms));
                continue;
            }
            connects_.fetch_add(1, std::memory_order_relaxed);
            backoff_ms = retry_min_ms;
            reported_down = false;
            log_event(LogLevel::info, "log.ship_connected", "to={}:{} from_sequence={}", options_.host, options_.port,
                      sent_ + 1);
        }
        update_confirmed();
        if (peer_gone() != Gone::no) {
            disconnect();
            continue;
        }
        if (!ship_batch()) continue;  // nothing new: wait below; a failure has disconnected
    }
}

bool LogShipper::ship_batch() {
    auto events = spool_.read(sent_ + 1, options_.batch_events, batch_bytes_max);
    if (!events || events->empty()) {
        if (!events) log_event(LogLevel::error, "log.ship_read_failed", "error={}", events.error().message());
        wait_ms(idle_check_ms);
        return false;
    }
    std::string frames;
    for (const LogEvent& e : *events) fmt::format_to(std::back_inserter(frames), "{} {}", e.line.size(), e.line);
    if (auto written = session_->write(frames); !written || !send_all(session_->outgoing())) {
        send_failures_.fetch_add(1, std::memory_order_relaxed);
        log_event(LogLevel::warn, "log.ship_failed", "to={}:{} reason=send", options_.host, options_.port);
        disconnect();
        return false;
    }
    bytes_written_ += session_->outgoing().size();
    session_->clear_outgoing();
    sent_ = events->back().sequence;
    in_flight_.emplace_back(bytes_written_, sent_);
    events_sent_.fetch_add(events->size(), std::memory_order_relaxed);
    return true;
}

bool LogShipper::connect_once(std::string& why) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(options_.port);
    if (const int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0 || found == nullptr)
        return why = "resolve", false;
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        fd_ = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0) continue;
        const std::uint64_t deadline = monotonic_ms() + options_.timeout_ms;
        int error = 0;
        socklen_t length = sizeof error;
        if ((::connect(fd_, a->ai_addr, a->ai_addrlen) == 0 ||
             (errno == EINPROGRESS && wait_for(fd_, POLLOUT, deadline) &&
              ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0))) {
            if (handshake(why)) {
                connected_.store(true, std::memory_order_relaxed);
                return true;
            }
            disconnect();
            return false;
        }
        why = "connect";
        disconnect();
    }
    return false;
}

bool LogShipper::handshake(std::string& why) {
    auto session = net::TlsSession::connect(*tls_, options_.host);
    if (!session) return why = "tls_setup", false;
    session_ = std::move(*session);
    const std::uint64_t deadline = monotonic_ms() + options_.timeout_ms;
    std::string ignored;
    char buffer[16384];
    for (;;) {
        if (!send_all(session_->outgoing())) return why = "handshake_send", false;
        session_->clear_outgoing();
        if (session_->handshake_done()) return true;
        if (!wait_for(fd_, POLLIN, deadline)) return why = "handshake_timeout", false;
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return why = "handshake_closed", false;
        if (!session_->feed(std::string_view(buffer, static_cast<std::size_t>(n)), ignored))
            return why = fmt::format("certificate_or_handshake(wolfssl {})", session_->wolf_error()), false;
        ignored.clear();
    }
}

bool LogShipper::send_all(std::string_view bytes) {
    std::uint64_t deadline = monotonic_ms() + options_.timeout_ms;
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            deadline = monotonic_ms() + options_.timeout_ms;  // progress: a slow collector is not a dead one
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN && wait_for(fd_, POLLOUT, deadline)) continue;
        return false;
    }
    return true;
}

void LogShipper::update_confirmed() {
    if (fd_ < 0 || in_flight_.empty()) return;
    int unacknowledged = 0;
    if (::ioctl(fd_, SIOCOUTQ, &unacknowledged) != 0) return;
    const std::uint64_t acknowledged = bytes_written_ - static_cast<std::uint64_t>(std::max(unacknowledged, 0));
    while (!in_flight_.empty() && in_flight_.front().first <= acknowledged) {
        confirmed_.store(in_flight_.front().second, std::memory_order_release);
        in_flight_.pop_front();
    }
}

LogShipper::Gone LogShipper::peer_gone() const {
    if (fd_ < 0) return Gone::closed;
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0 || (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0) return Gone::no;
    int error = 0;
    socklen_t length = sizeof error;
    const bool reset = (p.revents & POLLERR) != 0 ||
                       (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error != 0);
    return reset ? Gone::reset : Gone::closed;
}

void LogShipper::disconnect() {
    update_confirmed();  // what the collector's stack took before the end counts (see the header)
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    session_.reset();
    in_flight_.clear();
    bytes_written_ = 0;
    sent_ = confirmed();  // resume after what the collector is known to hold
    connected_.store(false, std::memory_order_relaxed);
}

}  // namespace vmx
