// DurationHistogram: how long an operation took, as counts in fixed buckets (Prometheus'
// histogram). One writer thread observes with relaxed atomic adds (no lock, no allocation on the
// hot path); any thread reads a snapshot with relaxed loads, and the metrics endpoint sums the
// shards' snapshots. The bounds are the same for every histogram, so snapshots add bucket by bucket.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace vmx {

// Monotonic microseconds: where a measured operation starts and ends (any thread).
inline std::uint64_t monotonic_us() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

// Upper bounds of the buckets, in microseconds: 1 ms to 5 minutes (a login's Argon2id, a commit's
// fsync, an outbound session to a slow MX). One more bucket, +Inf, holds the rest.
inline constexpr std::array<std::uint64_t, 17> duration_bounds_us{
    1'000,   2'500,   5'000,   10'000,    25'000,    50'000,    100'000,   250'000,    500'000,
    1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000, 60'000'000, 120'000'000, 300'000'000,
};

// Counts per bucket (not cumulative; the last is +Inf), their sum and total.
struct DurationCounts {
    std::array<std::uint64_t, duration_bounds_us.size() + 1> buckets{};
    std::uint64_t sum_us = 0;
    std::uint64_t count = 0;

    DurationCounts& operator+=(const DurationCounts& other) noexcept {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
        sum_us += other.sum_us;
        count += other.count;
        return *this;
    }
};

class DurationHistogram {
public:
    void observe_us(std::uint64_t us) noexcept {
        std::size_t i = 0;
        while (i < duration_bounds_us.size() && us > duration_bounds_us[i]) ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        sum_us_.fetch_add(us, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
    }

    // Relaxed loads: a snapshot taken during an observation may be off by that one observation.
    DurationCounts snapshot() const noexcept {
        DurationCounts out;
        for (std::size_t i = 0; i < buckets_.size(); ++i) out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
        out.sum_us = sum_us_.load(std::memory_order_relaxed);
        out.count = count_.load(std::memory_order_relaxed);
        return out;
    }

private:
    std::array<std::atomic<std::uint64_t>, duration_bounds_us.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_us_{0};
    std::atomic<std::uint64_t> count_{0};
};

}  // namespace vmx
