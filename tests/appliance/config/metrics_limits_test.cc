// The [metrics] rows of the config table: the scrape limits' defaults, values and bounds.
#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "appliance/config/config.h"

namespace vmx {
namespace {

Config parse_ok(std::string_view text) {
    auto result = parse_config(text, "vaultmx.toml");
    if (const auto* error = std::get_if<ConfigError>(&result)) {
        ADD_FAILURE() << error->message;
        return {};
    }
    return std::get<Config>(std::move(result));
}

std::string parse_error(std::string_view text) {
    auto result = parse_config(text, "vaultmx.toml");
    const auto* error = std::get_if<ConfigError>(&result);
    return error ? error->message : std::string("accepted");
}

TEST(ConfigMetricsTest, ScrapeLimitsDefaults) {
    const Config d = parse_ok("");
    EXPECT_EQ(d.metrics_listen, "127.0.0.1:9925");
    EXPECT_EQ(d.limits.metrics_io_timeout_ms, 5000U);
    EXPECT_EQ(d.limits.metrics_connections_max, 16U);
    EXPECT_EQ(d.limits.metrics_request_line_bytes_max, 1024U);
    EXPECT_EQ(d.limits.metrics_head_bytes_max, 8192U);
    EXPECT_EQ(d.limits.metrics_header_fields_max, 32U);
}

TEST(ConfigMetricsTest, ScrapeLimitsSetAndBounded) {
    const Config c = parse_ok("[metrics]\nio_timeout_s = 2\nconnections_max = 4\nrequest_line_bytes_max = 128\n"
                              "head_bytes_max = 512\nheader_fields_max = 8\n");
    EXPECT_EQ(c.limits.metrics_io_timeout_ms, 2000U);
    EXPECT_EQ(c.limits.metrics_connections_max, 4U);
    EXPECT_EQ(c.limits.metrics_request_line_bytes_max, 128U);
    EXPECT_EQ(c.limits.metrics_head_bytes_max, 512U);
    EXPECT_EQ(c.limits.metrics_header_fields_max, 8U);
    EXPECT_TRUE(parse_error("[metrics]\nconnections_max = 0\n").starts_with("vaultmx.toml:2: metrics.connections_max"));
    EXPECT_TRUE(parse_error("[metrics]\nhead_bytes_max = 100000\n").starts_with("vaultmx.toml:2: metrics.head_bytes_max"));
    EXPECT_TRUE(parse_error("[metrics]\nio_timeout_s = 0\n").starts_with("vaultmx.toml:2: metrics.io_timeout_s"));
}

}  // namespace
}  // namespace vmx
