// The Prometheus text exposition writer: HELP and TYPE per family, name checks, escaping of HELP
// text and label values, and histograms whose buckets are cumulative and end with +Inf.
#include <gtest/gtest.h>

#include <string>

#include "appliance/ops/exposition.h"

namespace vmx {
namespace {

TEST(Exposition, CounterFamilyWithLabels) {
    ExpositionWriter w;
    w.family("vaultmx_x_total", MetricType::counter, "Things done.");
    w.sample({{"shard", "0"}, {"kind", "a"}}, std::uint64_t{7});
    w.sample({}, std::uint64_t{0});
    EXPECT_EQ(w.text(), "# HELP vaultmx_x_total Things done.\n# TYPE vaultmx_x_total counter\n"
                        "vaultmx_x_total{shard=\"0\",kind=\"a\"} 7\nvaultmx_x_total 0\n");
}

TEST(Exposition, GaugeValuesAndSpecialFloats) {
    ExpositionWriter w;
    w.family("vaultmx_g", MetricType::gauge, "A gauge.");
    w.sample({}, -1.5);
    w.sample({}, 1.0 / 0.0);
    w.sample({}, -1.0 / 0.0);
    w.sample({}, 0.0 / 0.0);
    EXPECT_EQ(w.text(), "# HELP vaultmx_g A gauge.\n# TYPE vaultmx_g gauge\nvaultmx_g -1.5\nvaultmx_g +Inf\n"
                        "vaultmx_g -Inf\nvaultmx_g NaN\n");
}

TEST(Exposition, Escaping) {
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
    ExpositionWriter w;
    w.family("vaultmx_e", MetricType::gauge, "line one\nline \\two");
    w.sample({{"v", "x\"}\n"}}, std::uint64_t{1});
    EXPECT_EQ(w.text(), "# HELP vaultmx_e line one\\nline \\\\two\n# TYPE vaultmx_e gauge\nvaultmx_e{v=\"x\\\"}\\n\"} 1\n");
}

TEST(Exposition, Names) {
    for (const char* good : {"vaultmx_a", "a:b_c", "_x", "A9"}) EXPECT_TRUE(is_metric_name(good)) << good;
    for (const char* bad : {"", "9a", "a-b", "a b", "é", "a.b"}) EXPECT_FALSE(is_metric_name(bad)) << bad;
    EXPECT_TRUE(is_label_name("shard"));
    for (const char* bad : {"", "a:b", "__name", "1x", "a-b"}) EXPECT_FALSE(is_label_name(bad)) << bad;
}

TEST(Exposition, BadNamesAreProgrammerErrors) {
    ExpositionWriter w;
    EXPECT_DEATH(w.family("bad-name", MetricType::gauge, "x"), "");
    EXPECT_DEATH(w.family("vaultmx_counter_without_suffix", MetricType::counter, "x"), "");
}

TEST(Exposition, HistogramIsCumulativeWithInf) {
    DurationHistogram h;
    h.observe_us(500);          // <= 1 ms
    h.observe_us(1'000);        // <= 1 ms (bounds are inclusive)
    h.observe_us(3'000);        // <= 5 ms
    h.observe_us(400'000'000);  // past the last bound: +Inf only
    ExpositionWriter w;
    w.family("vaultmx_h_seconds", MetricType::histogram, "A histogram.");
    w.histogram({{"listener", "smtp"}}, h.snapshot());
    const std::string& t = w.text();
    EXPECT_NE(t.find("vaultmx_h_seconds_bucket{listener=\"smtp\",le=\"0.001\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_bucket{listener=\"smtp\",le=\"0.0025\"} 2\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_bucket{listener=\"smtp\",le=\"0.005\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_bucket{listener=\"smtp\",le=\"300\"} 3\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_bucket{listener=\"smtp\",le=\"+Inf\"} 4\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_sum{listener=\"smtp\"} 400.0045\n"), std::string::npos) << t;
    EXPECT_NE(t.find("vaultmx_h_seconds_count{listener=\"smtp\"} 4\n"), std::string::npos) << t;
    // Every bucket line's count is at least the one before it.
    std::uint64_t last = 0;
    std::size_t buckets = 0;
    for (std::size_t pos = t.find("_bucket"); pos != std::string::npos; pos = t.find("_bucket", pos + 1)) {
        const std::size_t space = t.find("} ", pos);
        const std::uint64_t v = std::stoull(t.substr(space + 2));
        EXPECT_GE(v, last);
        last = v;
        ++buckets;
    }
    EXPECT_EQ(buckets, duration_bounds_us.size() + 1);
}

TEST(Exposition, HistogramSnapshotsAdd) {
    DurationHistogram a, b;
    a.observe_us(10);
    b.observe_us(2'000'000);
    DurationCounts sum = a.snapshot();
    sum += b.snapshot();
    EXPECT_EQ(sum.count, 2U);
    EXPECT_EQ(sum.sum_us, 2'000'010U);
    EXPECT_EQ(sum.buckets[0], 1U);
}

}  // namespace
}  // namespace vmx
