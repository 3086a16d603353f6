// LoadStats: counters and latency samples of one load thread; summaries after the merge.
#include "benchmarks/mail/load_stats.h"

#include <algorithm>
#include <cmath>

namespace vmx::bench {

const char* step_name(Step s) {
    switch (s) {
        case Step::connect: return "connect";
        case Step::tls_handshake: return "tls_handshake";
        case Step::login: return "login";
        case Step::transaction: return "transaction";
        case Step::end_of_data: return "end_of_data";
        case Step::retr: return "retr";
    }
    return "?";
}

void LoadStats::record(Step step, std::int64_t elapsed_ns) {
    auto& samples = latency_us[static_cast<std::size_t>(step)];
    if (samples.size() >= latency_samples_max) {
        ++samples_dropped;
        return;
    }
    const std::int64_t us = std::max<std::int64_t>(0, elapsed_ns / 1000);
    samples.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(us, UINT32_MAX)));
}

void LoadStats::merge(LoadStats&& other) {
    messages += other.messages;
    bytes += other.bytes;
    transactions += other.transactions;
    sessions += other.sessions;
    recipients += other.recipients;
    samples_dropped += other.samples_dropped;
    late_starts += other.late_starts;
    for (const auto& [kind, n] : other.errors) errors[kind] += n;
    for (std::size_t i = 0; i < step_count; ++i) {
        auto& into = latency_us[i];
        into.insert(into.end(), other.latency_us[i].begin(), other.latency_us[i].end());
        other.latency_us[i] = {};
    }
}

std::uint64_t LoadStats::errors_total() const {
    std::uint64_t n = 0;
    for (const auto& [kind, count] : errors) n += count;
    return n;
}

namespace {
// The nearest-rank percentile: the smallest sample with at least q of all samples at or below it.
double percentile_ms(const std::vector<std::uint32_t>& sorted, double q) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    const std::size_t index = rank == 0 ? 0 : std::min(rank - 1, sorted.size() - 1);
    return static_cast<double>(sorted[index]) / 1000.0;
}
}  // namespace

LatencySummary summarize(std::vector<std::uint32_t>& samples_us) {
    LatencySummary s;
    if (samples_us.empty()) return s;
    std::sort(samples_us.begin(), samples_us.end());
    s.count = samples_us.size();
    s.p50_ms = percentile_ms(samples_us, 0.50);
    s.p90_ms = percentile_ms(samples_us, 0.90);
    s.p99_ms = percentile_ms(samples_us, 0.99);
    s.p999_ms = percentile_ms(samples_us, 0.999);
    s.max_ms = static_cast<double>(samples_us.back()) / 1000.0;
    return s;
}

}  // namespace vmx::bench
