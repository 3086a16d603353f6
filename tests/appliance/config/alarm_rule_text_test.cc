// Alarm rules as the config writes them: the three forms, label matchers, windows and thresholds,
// the canonical spelling, and hostile or malformed texts refused with where and why.
#include "appliance/config/alarm_rule_text.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx {
namespace {

AlarmRuleText ok(std::string_view text) {
    auto parsed = parse_alarm_rule(text);
    if (auto* wrong = std::get_if<std::string>(&parsed)) ADD_FAILURE() << text << ": " << *wrong;
    return std::holds_alternative<AlarmRuleText>(parsed) ? std::get<AlarmRuleText>(parsed) : AlarmRuleText{};
}

std::string wrong(std::string_view text) {
    auto parsed = parse_alarm_rule(text);
    if (std::holds_alternative<AlarmRuleText>(parsed)) {
        ADD_FAILURE() << "accepted: " << text;
        return {};
    }
    return std::get<std::string>(parsed);
}

TEST(AlarmRuleText, LevelAboveAndBelow) {
    const auto above = ok("queue_high: vaultmx_queue_messages > 500");
    EXPECT_EQ(above.name, "queue_high");
    EXPECT_EQ(above.family, "vaultmx_queue_messages");
    EXPECT_TRUE(above.labels.empty());
    EXPECT_FALSE(above.increase);
    EXPECT_TRUE(above.above);
    EXPECT_EQ(above.threshold, 500);
    EXPECT_EQ(above.text, "queue_high: vaultmx_queue_messages > 500");
    const auto below = ok("disk:vaultmx_data_free_bytes<1073741824.5");
    EXPECT_FALSE(below.above);
    EXPECT_DOUBLE_EQ(below.threshold, 1073741824.5);
}

TEST(AlarmRuleText, IncreaseOverAWindowWithLabels) {
    const auto r = ok("pop3_failures: increase( vaultmx_login_failures_total{protocol=\"pop3\", reason=\"bad_credentials\"} [10m] ) > 50");
    EXPECT_TRUE(r.increase);
    EXPECT_EQ(r.window_s, 600u);
    EXPECT_EQ(r.labels, (std::vector<std::pair<std::string, std::string>>{{"protocol", "pop3"}, {"reason", "bad_credentials"}}));
    EXPECT_EQ(format_alarm_rule(r),
              "pop3_failures: increase(vaultmx_login_failures_total{protocol=\"pop3\",reason=\"bad_credentials\"}[600s]) > 50");
    EXPECT_EQ(ok("a: increase(f[1h]) > 0").window_s, 3600u);
    EXPECT_EQ(ok("a: increase(f[1s]) > 0").window_s, 1u);
    EXPECT_EQ(format_alarm_rule(ok("a: f < 0.25")), "a: f < 0.25");
}

TEST(AlarmRuleText, MalformedRulesSayWhereAndWhy) {
    EXPECT_EQ(wrong(""), "expected a rule name ([a-z][a-z0-9_]*) at the end");
    EXPECT_EQ(wrong("Queue: f > 1"), "expected a rule name ([a-z][a-z0-9_]*) at column 1, got 'Q'");
    EXPECT_EQ(wrong("q f > 1"), "expected ':' after the rule name at column 3, got 'f'");
    EXPECT_EQ(wrong("q: > 1"), "expected a metric family such as vaultmx_queue_messages at column 4, got '>'");
    EXPECT_EQ(wrong("q: f"), "expected '>' or '<' at the end");
    EXPECT_EQ(wrong("q: f >= 1"), "expected a number (0 or more) at column 7, got '='");
    EXPECT_EQ(wrong("q: f > -1"), "expected a number (0 or more) at column 8, got '-'");
    EXPECT_EQ(wrong("q: f > 1e3"), "expected the end of the rule at column 9, got 'e'");
    EXPECT_EQ(wrong("q: f > 1."), "expected digits after '.' at the end");
    EXPECT_EQ(wrong("q: f > 1 and g > 2"), "expected the end of the rule at column 10, got 'a'");
    EXPECT_EQ(wrong("q: increase(f[5m]) < 1"), "increase(...) fires on a rise: only '>' compares it");
    EXPECT_EQ(wrong("q: increase(f) > 1"), "expected '[' and a window such as [5m] at column 14, got ')'");
    EXPECT_EQ(wrong("q: increase(f[0s]) > 1"), "the window must be 1s to 3600s");
    EXPECT_EQ(wrong("q: increase(f[61m]) > 1"), "the window must be 1s to 3600s");
    EXPECT_EQ(wrong("q: increase(f[99999999h]) > 1"), "expected a window of 1s to 1h at column 23, got 'h'");
    EXPECT_EQ(wrong("q: increase(f[5d]) > 1"), "expected a unit of the window: s, m or h at column 16, got 'd'");
    EXPECT_EQ(wrong("q: increase(f[5m] > 1"), "expected ')' closing increase( at column 19, got '>'");
    EXPECT_EQ(wrong("q: f{a=\"1\",a=\"2\"} > 1"), "label a is matched twice");
    EXPECT_EQ(wrong("q: f{a!=\"1\"} > 1"), "expected '=' after the label name (only equality matches) at column 7, got '!'");
    EXPECT_EQ(wrong("q: f{a=~\"1\"} > 1"), "expected a quoted label value at column 8, got '~'");
    EXPECT_EQ(wrong("q: f{a=\"x y\"} > 1"), "expected a label value of [A-Za-z0-9_.-] and its closing '\"' at column 10");
    EXPECT_EQ(wrong("q: f{a=\"1\" b=\"2\"} > 1"), "expected ',' or '}' after a label matcher at column 12, got 'b'");
    EXPECT_EQ(wrong("q: f{a=\"1\"} > 1\x01"), "expected the end of the rule at column 16");
    EXPECT_EQ(wrong("q: f > 99999999999999999"), "the threshold has too many digits");
    EXPECT_EQ(wrong("q: f > 2000000000000000"), "the threshold is above 1e+15");
}

TEST(AlarmRuleText, BoundsHold) {
    EXPECT_EQ(wrong(std::string(alarm_rule_name_bytes_max + 1, 'a') + ": f > 1"), "the rule name is longer than 48 characters");
    EXPECT_EQ(wrong("q: " + std::string(alarm_rule_family_bytes_max + 1, 'f') + " > 1"),
              "the metric family is longer than 96 characters");
    EXPECT_EQ(wrong("q: f{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"} > 1"), "more than 4 label matchers");
    EXPECT_EQ(wrong("q: f{" + std::string(33, 'l') + "=\"1\"} > 1"), "a label name is longer than 32 characters");
    EXPECT_EQ(wrong("q: f{l=\"" + std::string(65, 'v') + "\"} > 1"), "a label value is longer than 64 characters");
    std::string padded = "q: f > 1" + std::string(alarm_rule_bytes_max, ' ');
    EXPECT_EQ(wrong(padded), "a rule is longer than 512 bytes");
    EXPECT_EQ(ok("q: f > 1" + std::string(alarm_rule_bytes_max - 8, ' ')).name, "q");
}

}  // namespace
}  // namespace vmx
