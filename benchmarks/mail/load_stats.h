// LoadStats: what one load thread counts for one scenario (SMTP or POP3): completed work, bytes,
// errors by reply code or failure kind, and latency samples per step. Each load thread owns its
// own and the main thread merges them after the threads have joined.
// Invariants: latency samples are microseconds; at most latency_samples_max per step and thread are
// kept (a bounded run never reaches it; past it samples are counted as dropped).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vmx::bench {

inline constexpr std::size_t latency_samples_max = 4u << 20;

enum class Step : std::uint8_t {
    connect,        // connect() until the kernel reports the connection
    tls_handshake,  // ClientHello until the handshake is done
    login,          // USER (or AUTH) until the server accepts the password
    transaction,    // MAIL FROM until the 250 after the final "."
    end_of_data,    // the final "." handed to the kernel until the 250 that answers it
    retr,           // RETR until the last byte of the message
};
inline constexpr std::size_t step_count = 6;
const char* step_name(Step s);

struct LatencySummary {
    std::uint64_t count = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
};

// Sorts its samples: call once, after merging.
LatencySummary summarize(std::vector<std::uint32_t>& samples_us);

struct LoadStats {
    std::uint64_t messages = 0;       // SMTP: acknowledged (250 after DATA); POP3: retrieved
    std::uint64_t bytes = 0;          // the messages' bytes
    std::uint64_t transactions = 0;   // SMTP: acknowledged transactions; POP3: sessions ended by +OK QUIT
    std::uint64_t sessions = 0;       // connections that reached the end of their session
    std::uint64_t recipients = 0;     // SMTP: recipients accepted in acknowledged transactions
    std::uint64_t samples_dropped = 0;
    std::uint64_t late_starts = 0;    // --rate: scheduled starts that found no slot free at their time
    std::map<std::string, std::uint64_t> errors;   // "550", "connect", "timeout", "tls", ...
    std::array<std::vector<std::uint32_t>, step_count> latency_us;

    void record(Step step, std::int64_t elapsed_ns);
    void error(const std::string& kind) { ++errors[kind]; }
    void merge(LoadStats&& other);
    std::uint64_t errors_total() const;
};

}  // namespace vmx::bench
