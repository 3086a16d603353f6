// A load run: one or two scenarios (SMTP, POP3, or both for `mixed`) spread over the load threads,
// started together, joined, and their per-thread figures merged. Called on the main thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/mail/load_driver.h"
#include "benchmarks/mail/load_stats.h"
#include "benchmarks/mail/message_source.h"
#include "benchmarks/mail/pop3_client.h"
#include "benchmarks/mail/smtp_client.h"

namespace vmx::bench {

struct RunLimits {
    std::uint32_t threads = 1;
    double duration_s = 0;        // 0: bounded by the count instead
    double timeout_s = 30;        // per session, without a byte either way
    double time_limit_s = 600;    // the hard bound on the whole run, count or duration
};

struct SmtpScenario {
    LoadTarget target;
    SmtpLoadOptions options;
    std::vector<SizeWeight> sizes;
    std::uint32_t connections = 1;
    std::uint64_t messages = 0;   // 0: until the duration ends
    std::string ack_log_path;     // empty: none
    double rate_per_s = 0;        // --rate, all threads together; 0: closed loop
};

struct Pop3Scenario {
    LoadTarget target;
    Pop3LoadOptions options;
    std::vector<Pop3User> users;
    std::uint32_t connections = 1;
    std::uint64_t sessions = 0;   // 0: until the duration ends
};

struct ScenarioResult {
    std::string name;             // "smtp", "pop3"
    std::string target;           // "127.0.0.1:2525"
    TlsStart tls = TlsStart::none;
    std::uint32_t connections = 0;
    double rate_per_s = 0;        // the rate asked; 0: closed loop
    LoadStats stats;
};

struct RunResult {
    std::vector<ScenarioResult> scenarios;
    std::uint32_t threads = 0;
    double wall_s = 0;
    double client_cpu_s = 0;      // this process: user + system, every thread
};

// Runs the load; `error` names what stopped it from running at all (TLS set-up, ack log file).
std::optional<RunResult> run_load(const RunLimits& limits, const SmtpScenario* smtp, const Pop3Scenario* pop3,
                                  std::string& error);

// Set from SIGINT/SIGTERM: the run stops starting work and finishes what is in flight.
void request_load_stop();

}  // namespace vmx::bench
