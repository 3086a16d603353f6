// Load run reports: text and JSON from the same figures. See load_report.h.
#include "benchmarks/mail/load_report.h"

#include <fmt/format.h>

#include "appliance/common/json_text.h"

namespace vmx::bench {
namespace {

double per_s(std::uint64_t n, double wall_s) { return wall_s > 0 ? static_cast<double>(n) / wall_s : 0; }
double mb_per_s(std::uint64_t bytes, double wall_s) { return wall_s > 0 ? static_cast<double>(bytes) / 1e6 / wall_s : 0; }

std::array<LatencySummary, step_count> summaries(ScenarioResult& s) {
    std::array<LatencySummary, step_count> out;
    for (std::size_t i = 0; i < step_count; ++i) out[i] = summarize(s.stats.latency_us[i]);
    return out;
}

std::string errors_text(const LoadStats& stats) {
    if (stats.errors.empty()) return "none";
    std::string out;
    for (const auto& [kind, n] : stats.errors) out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", kind, n);
    return out;
}

std::string scenario_text(ScenarioResult& s, double wall_s) {
    const LoadStats& st = s.stats;
    const bool smtp = s.name == "smtp";
    std::string out = fmt::format("{} -> {} ({}), {} connections\n", s.name, s.target, tls_name(s.tls), s.connections);
    out += fmt::format("  {:<14} {:>10}  {:>10.1f}/s  {:>8.2f} MB/s\n", smtp ? "acknowledged" : "retrieved",
                       st.messages, per_s(st.messages, wall_s), mb_per_s(st.bytes, wall_s));
    out += fmt::format("  {:<14} {:>10}  {:>10.1f}/s\n", smtp ? "transactions" : "sessions ok", st.transactions,
                       per_s(st.transactions, wall_s));
    if (smtp) out += fmt::format("  {:<14} {:>10}\n", "recipients", st.recipients);
    out += fmt::format("  {:<14} {:>10}\n", "sessions ended", st.sessions);
    if (s.rate_per_s > 0) {
        out += fmt::format("  {:<14} {:>10.1f}/s asked\n", "paced at", s.rate_per_s);
        out += fmt::format("  {:<14} {:>10}\n", "late starts", st.late_starts);
    }
    out += fmt::format("  {:<14} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "latency ms", "count", "p50", "p90", "p99",
                       "p99.9", "max");
    const auto sums = summaries(s);
    for (std::size_t i = 0; i < step_count; ++i) {
        const LatencySummary& l = sums[i];
        if (l.count == 0) continue;
        out += fmt::format("  {:<14} {:>10} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n",
                           step_name(static_cast<Step>(i)), l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms);
    }
    out += fmt::format("  errors         {}\n", errors_text(st));
    if (st.samples_dropped) out += fmt::format("  latency samples dropped: {}\n", st.samples_dropped);
    return out;
}

std::string latency_json(const LatencySummary& l) {
    return fmt::format(
        "{{\"count\": {}, \"p50\": {:.3f}, \"p90\": {:.3f}, \"p99\": {:.3f}, \"p999\": {:.3f}, \"max\": {:.3f}}}",
        l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms);
}

// The fields of one scenario, without the braces (so the single-scenario object can add more).
std::string scenario_fields(ScenarioResult& s, double wall_s, std::uint32_t threads, double client_cpu_s) {
    const LoadStats& st = s.stats;
    std::string out = fmt::format(
        "\"scenario\": {}, \"target\": {}, \"tls\": \"{}\", \"connections\": {}, \"threads\": {}, \"wall_s\": {:.3f}, "
        "\"messages\": {}, \"messages_per_s\": {:.1f}, \"bytes\": {}, \"mb_per_s\": {:.3f}, \"transactions\": {}, "
        "\"transactions_per_s\": {:.1f}, \"sessions\": {}, \"recipients\": {}, \"client_cpu_s\": {:.3f}, ",
        json_string(s.name), json_string(s.target), tls_name(s.tls), s.connections, threads, wall_s, st.messages,
        per_s(st.messages, wall_s), st.bytes, mb_per_s(st.bytes, wall_s), st.transactions,
        per_s(st.transactions, wall_s), st.sessions, st.recipients, client_cpu_s);
    if (s.rate_per_s > 0) out += fmt::format("\"rate_per_s\": {:.3f}, \"late_starts\": {}, ", s.rate_per_s, st.late_starts);
    out += "\"latency_ms\": {";
    const auto sums = summaries(s);
    bool first = true;
    for (std::size_t i = 0; i < step_count; ++i) {
        if (sums[i].count == 0) continue;
        out += fmt::format("{}\"{}\": {}", first ? "" : ", ", step_name(static_cast<Step>(i)), latency_json(sums[i]));
        first = false;
    }
    out += "}, \"errors\": {";
    first = true;
    for (const auto& [kind, n] : st.errors) {
        out += fmt::format("{}{}: {}", first ? "" : ", ", json_string(kind), n);
        first = false;
    }
    out += fmt::format("}}, \"errors_total\": {}, \"latency_samples_dropped\": {}", st.errors_total(),
                       st.samples_dropped);
    return out;
}

}  // namespace

const char* tls_name(TlsStart tls) {
    switch (tls) {
        case TlsStart::none: return "none";
        case TlsStart::starttls: return "starttls";
        case TlsStart::implicit: return "tls";
    }
    return "?";
}

std::string report_text(const std::string& scenario, RunResult& run) {
    std::string out = fmt::format("vaultmx-bench {}: {:.2f} s, {} load thread{}\n", scenario, run.wall_s, run.threads,
                                  run.threads == 1 ? "" : "s");
    for (ScenarioResult& s : run.scenarios) out += scenario_text(s, run.wall_s);
    std::uint64_t units = 0;
    for (const ScenarioResult& s : run.scenarios) units += s.stats.messages;
    out += fmt::format("client CPU: {:.2f} s ({:.0f}% of one core; {:.3f} ms per message)\n", run.client_cpu_s,
                       run.wall_s > 0 ? 100.0 * run.client_cpu_s / run.wall_s : 0,
                       units ? 1000.0 * run.client_cpu_s / static_cast<double>(units) : 0);
    return out;
}

std::string report_json(const std::string& scenario, RunResult& run) {
    if (run.scenarios.size() == 1)
        return "{" + scenario_fields(run.scenarios.front(), run.wall_s, run.threads, run.client_cpu_s) + "}\n";
    std::string out = fmt::format("{{\"scenario\": {}, \"threads\": {}, \"wall_s\": {:.3f}, \"client_cpu_s\": {:.3f}",
                                  json_string(scenario), run.threads, run.wall_s, run.client_cpu_s);
    for (ScenarioResult& s : run.scenarios)
        out += fmt::format(", {}: {{{}}}", json_string(s.name), scenario_fields(s, run.wall_s, run.threads, run.client_cpu_s));
    return out + "}\n";
}

}  // namespace vmx::bench
