// An alarm rule written in the config ([alarms] rules), in the words of the metrics endpoint, so an
// admin who reads GET /metrics can write one without learning another name for anything:
//
//   "NAME: SELECTOR > NUMBER"                      fires while the level is above NUMBER
//   "NAME: SELECTOR < NUMBER"                      fires while the level is below NUMBER
//   "NAME: increase(SELECTOR[WINDOW]) > NUMBER"    fires when it rose by more than NUMBER in WINDOW
//
//   NAME      [a-z][a-z0-9_]*, at most name_bytes_max
//   SELECTOR  a family of GET /metrics, with label matchers as PromQL writes them:
//             vaultmx_login_failures_total{protocol="pop3",reason="bad_credentials"}; the family's
//             rows that match are summed (over the shards too)
//   WINDOW    a whole number of s, m or h, from 1s to window_s_max (a rule keeps a sample a second)
//   NUMBER    a decimal, at least 0, at most threshold_max
// Spaces and tabs may stand between the parts. Only the text is checked here; whether the family
// and its labels exist is the daemon's to say at start-up (the metric table lives above config).
// Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vmx {

struct AlarmRuleText {
    std::string name;
    std::string family;
    std::vector<std::pair<std::string, std::string>> labels;  // in the order written
    bool increase = false;      // increase(...[window]) > threshold
    std::uint32_t window_s = 0; // increase only
    bool above = true;          // ">"; false: "<" (a level only)
    double threshold = 0;
    std::string text;           // as written, for `vaultmx alarms` and the events
};

inline constexpr std::size_t alarm_rule_bytes_max = 512;
inline constexpr std::size_t alarm_rules_max = 64;
inline constexpr std::size_t alarm_rule_name_bytes_max = 48;
inline constexpr std::size_t alarm_rule_family_bytes_max = 96;
inline constexpr std::size_t alarm_rule_labels_max = 4;
inline constexpr std::size_t alarm_rule_label_bytes_max = 32;
inline constexpr std::size_t alarm_rule_value_bytes_max = 64;
inline constexpr std::uint32_t alarm_rule_window_s_max = 3600;
inline constexpr double alarm_rule_threshold_max = 1e15;

// The rule, or a sentence that says what is wrong and where (for the config's problem list).
std::variant<AlarmRuleText, std::string> parse_alarm_rule(std::string_view text);

// The rule in one canonical spelling (single spaces, the window in seconds), which parses back to it.
std::string format_alarm_rule(const AlarmRuleText& rule);

}  // namespace vmx
