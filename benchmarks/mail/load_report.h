// The figures of a load run, as a table for people and as one JSON object for scripts
// (benchmarks/compare). Main thread, after the run.
#pragma once

#include <string>

#include "benchmarks/mail/load_run.h"

namespace vmx::bench {

// `scenario`: "smtp", "pop3" or "mixed". Summaries sort the latency samples.
std::string report_text(const std::string& scenario, RunResult& run);
std::string report_json(const std::string& scenario, RunResult& run);

const char* tls_name(TlsStart tls);

}  // namespace vmx::bench
