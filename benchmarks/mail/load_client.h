// LoadClient: the client side of one protocol session (SMTP or POP3) as a pure engine: the
// connection hands it the server's plaintext and the time, it answers with what to send and
// whether to start TLS or close. No socket, no clock, no threads: the load driver owns those.
// WorkBudget: how much work the whole run may still start (shared by the load threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmx::bench {

struct ClientActions {
    std::string out;          // plaintext to send, in order
    bool start_tls = false;   // start the client side of a TLS handshake once `out` is sent
    bool close = false;       // the session is over: close once `out` is sent
    bool wait_for_turn = false;   // paced (--rate): hold the next transaction until on_turn()
};

class LoadClient {
public:
    virtual ~LoadClient() = default;
    // The server's bytes (decrypted when TLS is on). Keeps a partial line for the next call.
    virtual void feed(std::string_view plain, std::int64_t now_ns, ClientActions& act) = 0;
    // The TLS handshake finished (implicit TLS, or after the client asked for start_tls).
    virtual void on_tls_started(std::int64_t now_ns, ClientActions& act) = 0;
    // The connection ended (peer closed, error, timeout). True if the session had reached its end.
    virtual bool finished() const = 0;
    // Every byte the client has handed over so far has gone to the kernel (and TLS before it).
    virtual void on_sent(std::int64_t /*now_ns*/) {}
    // The scheduled time of the transaction it waits for (after asking with wait_for_turn) has come.
    virtual void on_turn(std::int64_t /*now_ns*/, ClientActions& /*act*/) {}
};

// A run's limit on work: a count (messages or sessions; 0 = none) and a deadline (0 = none).
// Thread-safe: every load thread takes from the same budget.
class WorkBudget {
public:
    WorkBudget(std::uint64_t count_max, std::int64_t deadline_ns) : count_max_(count_max), deadline_ns_(deadline_ns) {}
    // One unit of work may start now (and is counted as started).
    bool take(std::int64_t now_ns) {
        if (stopped_.load(std::memory_order_relaxed)) return false;
        if (deadline_ns_ != 0 && now_ns >= deadline_ns_) return false;
        return count_max_ == 0 || taken_.fetch_add(1, std::memory_order_relaxed) < count_max_;
    }
    // Whether take() may still succeed (another thread can take the last unit first). Once false,
    // false for good: the stop, the deadline and the count only ever close the budget.
    bool open(std::int64_t now_ns) const {
        if (stopped_.load(std::memory_order_relaxed)) return false;
        if (deadline_ns_ != 0 && now_ns >= deadline_ns_) return false;
        return count_max_ == 0 || taken_.load(std::memory_order_relaxed) < count_max_;
    }
    void stop() { stopped_.store(true, std::memory_order_relaxed); }

private:
    const std::uint64_t count_max_;
    const std::int64_t deadline_ns_;
    std::atomic<std::uint64_t> taken_{0};
    std::atomic<bool> stopped_{false};
};

// Splits "CODE text\r\n" lines out of a byte stream, bounded: a line past line_bytes_max is a
// protocol error (the server is broken or hostile; the client gives up on the session).
class LineBuffer {
public:
    static constexpr std::size_t line_bytes_max = 4096;
    // Appends bytes; returns false when the partial line grew past the limit.
    bool append(std::string_view bytes) {
        kept_.append(bytes);
        return kept_.size() - start_ <= line_bytes_max || kept_.find('\n', start_) != std::string::npos;
    }
    // The next complete line without its CRLF (or LF), or false.
    bool next(std::string_view& line) {
        const std::size_t nl = kept_.find('\n', start_);
        if (nl == std::string::npos) {
            compact();
            return false;
        }
        std::size_t end = nl;
        if (end > start_ && kept_[end - 1] == '\r') --end;
        line = std::string_view(kept_).substr(start_, end - start_);
        start_ = nl + 1;
        return true;
    }
    // The bytes after the last line taken (for a switch to raw data mode); they leave the buffer.
    std::string take_rest() {
        std::string rest = kept_.substr(start_);
        clear();
        return rest;
    }
    void clear() {
        kept_.clear();
        start_ = 0;
    }

private:
    void compact() {
        kept_.erase(0, start_);
        start_ = 0;
    }
    std::string kept_;
    std::size_t start_ = 0;
};

}  // namespace vmx::bench
