// Pop3Client: one POP3 session of the load (RFC 1939): greeting, USER/PASS, STAT, UIDL, RETR of
// every message (optionally DELE each), QUIT. Pure: see load_client.h. One per connection, on its
// load thread. Multi-line responses are scanned for their terminating "." line as they stream in,
// without being copied, so a large RETR costs one pass over its bytes.
// Invariants: a message counts as retrieved only once its terminator arrived; a -ERR counts once
// under "-ERR" plus its RFC 3206 code ("-ERR [IN-USE]").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "benchmarks/mail/load_client.h"
#include "benchmarks/mail/load_stats.h"

namespace vmx::bench {

struct Pop3User {
    std::string address;
    std::string password;
};

struct Pop3LoadOptions {
    bool dele = false;
};

// Finds the end of a multi-line response: the line holding a single "." (RFC 1939 3.).
class MultiLineScanner {
public:
    // Scans bytes; returns how many belong to the response (all of them until the end is found).
    std::size_t scan(std::string_view bytes);
    bool done() const { return state_ == State::done; }
    void reset() { state_ = State::line_start; }

private:
    enum class State : std::uint8_t { line_start, dot, dot_cr, in_line, cr, done };
    State state_ = State::line_start;
};

class Pop3Client final : public LoadClient {
public:
    Pop3Client(const Pop3LoadOptions& options, const Pop3User& user, LoadStats& stats)
        : options_(options), user_(user), stats_(stats) {}

    void feed(std::string_view plain, std::int64_t now_ns, ClientActions& act) override;
    void on_tls_started(std::int64_t, ClientActions&) override {}
    bool finished() const override { return state_ == State::done; }

private:
    enum class State : std::uint8_t { greeting, user, pass, stat, uidl, retr, dele, quit, done };

    void on_line(std::string_view line, std::int64_t now_ns, ClientActions& act);
    void on_multiline_end(std::int64_t now_ns, ClientActions& act);
    void next_message(std::int64_t now_ns, ClientActions& act);
    void send(ClientActions& act, std::string_view command, State next);
    void give_up(ClientActions& act, const std::string& kind);
    void refused(std::string_view line, ClientActions& act);

    const Pop3LoadOptions& options_;
    const Pop3User& user_;
    LoadStats& stats_;
    State state_ = State::greeting;
    LineBuffer lines_;
    MultiLineScanner scanner_;
    bool in_data_ = false;          // inside a multi-line response
    bool refused_ = false;          // a -ERR ended the session early
    std::uint64_t messages_ = 0;    // from STAT
    std::uint64_t current_ = 0;     // the message being retrieved, 1-based
    std::uint64_t data_bytes_ = 0;
    std::int64_t started_ns_ = 0;
};

}  // namespace vmx::bench
