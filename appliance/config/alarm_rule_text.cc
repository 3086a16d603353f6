// Alarm rules as the config writes them (see alarm_rule_text.h): a hand-written scanner over a
// bounded text, one function per part of the grammar, each failing with what it expected.
#include "appliance/config/alarm_rule_text.h"

#include <fmt/format.h>

namespace vmx {
namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_lower(c) || is_digit(c) || c == '_'; }
bool is_value_char(char c) {
    return is_name_char(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
}

// The failure of one rule: the part that was expected, and the column (1-based) where it was not.
struct Failure {
    std::string message;
};

class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    void skip_blanks() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
    }
    bool done() const { return at_ >= text_.size(); }
    char peek() const { return done() ? '\0' : text_[at_]; }
    bool take(char c) {
        skip_blanks();
        if (peek() != c) return false;
        ++at_;
        return true;
    }
    bool take_word(std::string_view word) {
        skip_blanks();
        if (text_.substr(at_, word.size()) != word) return false;
        at_ += word.size();
        return true;
    }
    // The longest run of chars `ok` accepts, starting with one `first` accepts; empty if none.
    template <class First, class Ok>
    std::string_view run(First first, Ok ok) {
        skip_blanks();
        const std::size_t start = at_;
        if (done() || !first(text_[at_])) return {};
        ++at_;
        while (!done() && ok(text_[at_])) ++at_;
        return text_.substr(start, at_ - start);
    }
    Failure expected(std::string_view what) const {
        if (done()) return {fmt::format("expected {} at the end", what)};
        const char c = text_[at_];
        const bool printable = c >= 0x21 && c <= 0x7e;
        return {printable ? fmt::format("expected {} at column {}, got '{}'", what, at_ + 1, c)
                          : fmt::format("expected {} at column {}", what, at_ + 1)};
    }

private:
    std::string_view text_;
    std::size_t at_ = 0;
};

using Step = std::variant<std::monostate, Failure>;
bool failed(const Step& s) { return std::holds_alternative<Failure>(s); }

Step read_name(Scanner& s, AlarmRuleText& rule) {
    const std::string_view name = s.run(is_lower, is_name_char);
    if (name.empty()) return s.expected("a rule name ([a-z][a-z0-9_]*)");
    if (name.size() > alarm_rule_name_bytes_max)
        return Failure{fmt::format("the rule name is longer than {} characters", alarm_rule_name_bytes_max)};
    rule.name.assign(name);
    if (!s.take(':')) return s.expected("':' after the rule name");
    return {};
}

Step read_labels(Scanner& s, AlarmRuleText& rule) {
    if (!s.take('{')) return {};
    if (s.take('}')) return {};
    for (;;) {
        const auto first = [](char c) { return is_lower(c) || c == '_'; };
        const std::string_view label = s.run(first, is_name_char);
        if (label.empty()) return s.expected("a label name");
        if (label.size() > alarm_rule_label_bytes_max)
            return Failure{fmt::format("a label name is longer than {} characters", alarm_rule_label_bytes_max)};
        for (const auto& [seen, value] : rule.labels)
            if (seen == label) return Failure{fmt::format("label {} is matched twice", label)};
        if (rule.labels.size() == alarm_rule_labels_max)
            return Failure{fmt::format("more than {} label matchers", alarm_rule_labels_max)};
        if (!s.take('=')) return s.expected("'=' after the label name (only equality matches)");
        if (!s.take('"')) return s.expected("a quoted label value");
        const std::string_view value = s.run(is_value_char, is_value_char);
        if (value.size() > alarm_rule_value_bytes_max)
            return Failure{fmt::format("a label value is longer than {} characters", alarm_rule_value_bytes_max)};
        if (s.peek() != '"') return s.expected("a label value of [A-Za-z0-9_.-] and its closing '\"'");
        (void)s.take('"');
        rule.labels.emplace_back(std::string(label), std::string(value));
        if (s.take('}')) return {};
        if (!s.take(',')) return s.expected("',' or '}' after a label matcher");
    }
}

Step read_selector(Scanner& s, AlarmRuleText& rule) {
    const auto first = [](char c) { return is_lower(c) || c == '_'; };
    const std::string_view family = s.run(first, is_name_char);
    if (family.empty()) return s.expected("a metric family such as vaultmx_queue_messages");
    if (family.size() > alarm_rule_family_bytes_max)
        return Failure{fmt::format("the metric family is longer than {} characters", alarm_rule_family_bytes_max)};
    rule.family.assign(family);
    return read_labels(s, rule);
}

Step read_window(Scanner& s, AlarmRuleText& rule) {
    if (!s.take('[')) return s.expected("'[' and a window such as [5m]");
    const std::string_view digits = s.run(is_digit, is_digit);
    if (digits.empty() || digits.size() > 5) return s.expected("a window of 1s to 1h");
    std::uint32_t amount = 0;
    for (const char c : digits) amount = amount * 10 + static_cast<std::uint32_t>(c - '0');
    std::uint32_t unit = 0;
    if (s.peek() == 's') unit = 1;
    else if (s.peek() == 'm') unit = 60;
    else if (s.peek() == 'h') unit = 3600;
    if (unit == 0) return s.expected("a unit of the window: s, m or h");
    (void)s.take(s.peek());
    const std::uint64_t window = std::uint64_t{amount} * unit;
    if (window == 0 || window > alarm_rule_window_s_max)
        return Failure{fmt::format("the window must be 1s to {}s", alarm_rule_window_s_max)};
    rule.window_s = static_cast<std::uint32_t>(window);
    if (!s.take(']')) return s.expected("']' after the window");
    return {};
}

Step read_expression(Scanner& s, AlarmRuleText& rule) {
    if (s.take_word("increase(")) {
        rule.increase = true;
        if (auto step = read_selector(s, rule); failed(step)) return step;
        if (auto step = read_window(s, rule); failed(step)) return step;
        if (!s.take(')')) return s.expected("')' closing increase(");
        return {};
    }
    return read_selector(s, rule);
}

Step read_comparison(Scanner& s, AlarmRuleText& rule) {
    if (s.take('>')) rule.above = true;
    else if (s.take('<')) rule.above = false;
    else return s.expected("'>' or '<'");
    if (rule.increase && !rule.above) return Failure{"increase(...) fires on a rise: only '>' compares it"};
    const std::string_view whole = s.run(is_digit, is_digit);
    if (whole.empty()) return s.expected("a number (0 or more)");
    std::string_view fraction;
    if (s.peek() == '.') {
        (void)s.take('.');
        fraction = s.run(is_digit, is_digit);
        if (fraction.empty()) return s.expected("digits after '.'");
    }
    if (whole.size() > 16 || fraction.size() > 9) return Failure{"the threshold has too many digits"};
    double value = 0;
    for (const char c : whole) value = value * 10 + (c - '0');
    double scale = 0.1;
    for (const char c : fraction) {
        value += (c - '0') * scale;
        scale /= 10;
    }
    if (value > alarm_rule_threshold_max) return Failure{fmt::format("the threshold is above {:g}", alarm_rule_threshold_max)};
    rule.threshold = value;
    return {};
}

}  // namespace

std::variant<AlarmRuleText, std::string> parse_alarm_rule(std::string_view text) {
    if (text.size() > alarm_rule_bytes_max) return fmt::format("a rule is longer than {} bytes", alarm_rule_bytes_max);
    AlarmRuleText rule;
    Scanner s(text);
    for (auto* step : {read_name, read_expression, read_comparison}) {
        if (auto result = step(s, rule); failed(result)) return std::move(std::get<Failure>(result).message);
    }
    s.skip_blanks();
    if (!s.done()) return s.expected("the end of the rule").message;
    rule.text.assign(text);
    return rule;
}

std::string format_alarm_rule(const AlarmRuleText& rule) {
    std::string selector = rule.family;
    if (!rule.labels.empty()) {
        selector += '{';
        for (std::size_t i = 0; i < rule.labels.size(); ++i)
            selector += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", rule.labels[i].first, rule.labels[i].second);
        selector += '}';
    }
    std::string threshold = fmt::format("{:.9f}", rule.threshold);
    while (threshold.back() == '0') threshold.pop_back();
    if (threshold.back() == '.') threshold.pop_back();
    if (rule.increase) return fmt::format("{}: increase({}[{}s]) > {}", rule.name, selector, rule.window_s, threshold);
    return fmt::format("{}: {} {} {}", rule.name, selector, rule.above ? '>' : '<', threshold);
}

}  // namespace vmx
