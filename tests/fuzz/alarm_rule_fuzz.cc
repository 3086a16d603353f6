// Fuzz target: alarm rules as the config writes them ([alarms] rules; appliance/config/
// alarm_rule_text.h). Checks: a rule accepted has a name, family, labels, window and threshold
// inside the grammar's bounds, and its canonical spelling parses back to the same rule.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "appliance/config/alarm_rule_text.h"
#include "core/assert.h"

namespace {

bool is_name(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto parsed = vmx::parse_alarm_rule(text);
    if (const auto* wrong = std::get_if<std::string>(&parsed)) {
        VMX_ASSERT(!wrong->empty() && wrong->size() < 200);
        return 0;
    }
    const auto& rule = std::get<vmx::AlarmRuleText>(parsed);
    VMX_ASSERT(is_name(rule.name, vmx::alarm_rule_name_bytes_max));
    VMX_ASSERT(is_name(rule.family, vmx::alarm_rule_family_bytes_max));
    VMX_ASSERT(rule.labels.size() <= vmx::alarm_rule_labels_max);
    for (const auto& [label, value] : rule.labels) {
        VMX_ASSERT(is_name(label, vmx::alarm_rule_label_bytes_max));
        VMX_ASSERT(value.size() <= vmx::alarm_rule_value_bytes_max);
    }
    VMX_ASSERT(rule.threshold >= 0 && rule.threshold <= vmx::alarm_rule_threshold_max);
    if (rule.increase) VMX_ASSERT(rule.above && rule.window_s >= 1 && rule.window_s <= vmx::alarm_rule_window_s_max);
    else VMX_ASSERT(rule.window_s == 0);
    VMX_ASSERT(rule.text == text);
    const auto again = vmx::parse_alarm_rule(vmx::format_alarm_rule(rule));
    VMX_ASSERT(std::holds_alternative<vmx::AlarmRuleText>(again));
    const auto& back = std::get<vmx::AlarmRuleText>(again);
    VMX_ASSERT(back.name == rule.name && back.family == rule.family && back.labels == rule.labels);
    VMX_ASSERT(back.increase == rule.increase && back.window_s == rule.window_s && back.above == rule.above);
    VMX_ASSERT(std::fabs(back.threshold - rule.threshold) <= 1e-9 * std::fmax(1.0, rule.threshold));
    return 0;
}
