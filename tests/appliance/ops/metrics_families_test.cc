// The metric families: every family has HELP and TYPE once, counters end in _total, shards are
// labelled, histograms are summed over the shards, and nothing but the listed counters (never a
// name or an address) can reach the text.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "appliance/ops/metrics_families.h"

namespace vmx {
namespace {

MetricsInputs two_shards() {
    MetricsInputs in;
    for (int s = 0; s < 2; ++s) {
        CounterSnapshot c;
        c.add("shard.accepted", std::uint64_t{10} + s);
        c.add("lane.failed_commits", std::uint64_t{3});
        c.add("login.pop3.bad_credentials", std::uint64_t{2});
        in.shards.push_back(std::move(c));
    }
    DurationHistogram h;
    h.observe_us(2'000);
    in.shards[0].add("lane.commit", h);
    in.shards[1].add("lane.commit", h);
    in.control.add("metrics.scrapes", std::uint64_t{5});
    in.data_free_bytes = 123456;
    in.certificate_seconds_left = 86400 * 30;
    in.version = "0.1.0";
    return in;
}

TEST(MetricsFamilies, EveryFamilyHasHelpAndTypeOnce) {
    const std::string text = render_metrics(two_shards());
    std::istringstream lines(text);
    std::set<std::string> helped, typed;
    std::string line;
    while (std::getline(lines, line)) {
        ASSERT_FALSE(line.empty());
        if (line.starts_with("# HELP ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(helped.insert(name).second) << name;
            EXPECT_TRUE(name.starts_with("vaultmx_")) << name;
        } else if (line.starts_with("# TYPE ")) {
            const std::string name = line.substr(7, line.find(' ', 7) - 7);
            const std::string type = line.substr(line.rfind(' ') + 1);
            EXPECT_TRUE(typed.insert(name).second) << name;
            EXPECT_TRUE(helped.count(name)) << name;
            if (type == "counter") {
                EXPECT_TRUE(name.ends_with("_total")) << name;
            }
            if (type == "histogram") {
                EXPECT_TRUE(name.ends_with("_seconds")) << name;
            }
        } else {
            EXPECT_TRUE(line.starts_with("vaultmx_")) << line;
        }
    }
    EXPECT_EQ(helped, typed);
}

TEST(MetricsFamilies, ValuesPerShardAndSummedHistograms) {
    const std::string text = render_metrics(two_shards());
    EXPECT_NE(text.find("vaultmx_connections_accepted_total{shard=\"0\"} 10\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_connections_accepted_total{shard=\"1\"} 11\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_store_commit_failures_total{shard=\"1\"} 3\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_login_failures_total{shard=\"0\",protocol=\"pop3\",reason=\"bad_credentials\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("vaultmx_store_commit_seconds_count 2\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_store_commit_seconds_bucket{le=\"0.0025\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_metrics_scrapes_total 5\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_data_free_bytes 123456\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_tls_certificate_expiry_seconds 2592000\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_build_info{version=\"0.1.0\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_shards 2\n"), std::string::npos);
}

TEST(MetricsFamilies, DrainingHasNoShardSeriesAndOptionalGaugesMayBeAbsent) {
    MetricsInputs in;
    const std::string text = render_metrics(in);
    EXPECT_EQ(text.find("shard=\""), std::string::npos);
    EXPECT_EQ(text.find("vaultmx_data_free_bytes"), std::string::npos);
    EXPECT_NE(text.find("vaultmx_shards 0\n"), std::string::npos);
}

TEST(MetricsFamilies, UnlistedCountersNeverAppear) {
    MetricsInputs in = two_shards();
    in.shards[0].add("user.ann@example.test", std::uint64_t{1});
    EXPECT_EQ(render_metrics(in).find("example.test"), std::string::npos);
}

// An alarm rule names a family of the exposition and label matchers; it sums the matching rows.
TEST(MetricsFamilies, AlarmRulesResolveFamiliesAndLabelsToTheCountersTheySum) {
    using Labels = std::vector<std::pair<std::string, std::string>>;
    using Names = std::vector<std::string>;
    const auto names = [](std::string_view family, const Labels& labels) {
        auto r = alarm_metrics(family, labels);
        if (auto* wrong = std::get_if<std::string>(&r)) return Names{"error: " + *wrong};
        return std::get<Names>(r);
    };
    EXPECT_EQ(names("vaultmx_queue_messages", {}), (Names{"delivery.queued", "outbound.queued"}));
    EXPECT_EQ(names("vaultmx_queue_messages", {{"queue", "outbound"}}), (Names{"outbound.queued"}));
    EXPECT_EQ(names("vaultmx_login_failures_total", {{"protocol", "pop3"}, {"reason", "bad_credentials"}}),
              (Names{"login.pop3.bad_credentials"}));
    EXPECT_EQ(names("vaultmx_login_failures_total", {{"protocol", "pop3"}}).size(), 4u);
    EXPECT_EQ(names("vaultmx_log_ship_backlog", {}), (Names{"log.ship_backlog"}));
    EXPECT_EQ(names("vaultmx_data_free_bytes", {}), (Names{std::string(data_free_bytes_metric)}));
    EXPECT_EQ(names("vaultmx_tls_certificate_expiry_seconds", {}), (Names{std::string(certificate_seconds_left_metric)}));
    EXPECT_EQ(names("vaultmx_nothing_total", {}),
              (Names{"error: vaultmx_nothing_total is not a family of GET /metrics that an alarm can watch"}));
    EXPECT_EQ(names("vaultmx_store_commit_seconds", {}),
              (Names{"error: vaultmx_store_commit_seconds is a histogram; alarms watch counters and gauges"}));
    EXPECT_EQ(names("vaultmx_queue_messages", {{"protocol", "pop3"}}),
              (Names{"error: vaultmx_queue_messages has no label protocol"}));
    EXPECT_EQ(names("vaultmx_queue_messages", {{"queue", "elsewhere"}}),
              (Names{"error: no series of vaultmx_queue_messages matches those labels"}));
    EXPECT_EQ(names("vaultmx_queue_messages", {{"shard", "0"}}),
              (Names{"error: alarms sum over the shards: match no shard label"}));
    EXPECT_EQ(names("vaultmx_data_free_bytes", {{"a", "b"}}), (Names{"error: vaultmx_data_free_bytes has no labels"}));
}

}  // namespace
}  // namespace vmx
