// The Prometheus text exposition writer (see exposition.h).
#include "appliance/ops/exposition.h"

#include <fmt/format.h>

#include <cmath>

#include "core/assert.h"

namespace vmx {
namespace {

bool is_name_char(char c, bool first, bool colon_ok) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (c == ':') return colon_ok;
    return !first && c >= '0' && c <= '9';
}

bool is_name(std::string_view name, bool colon_ok) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!is_name_char(name[i], i == 0, colon_ok)) return false;
    return true;
}

std::string_view type_name(MetricType t) {
    switch (t) {
        case MetricType::counter: return "counter";
        case MetricType::gauge: return "gauge";
        case MetricType::histogram: return "histogram";
    }
    return "untyped";
}

// Go's ParseFloat spellings, which Prometheus reads: +Inf, -Inf, NaN; else the shortest exact form.
std::string number_text(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

std::string seconds_text(std::uint64_t us) { return number_text(static_cast<double>(us) / 1e6); }

}  // namespace

bool is_metric_name(std::string_view name) { return is_name(name, true); }

bool is_label_name(std::string_view name) { return is_name(name, false) && !name.starts_with("__"); }

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string escape_help(std::string_view help) {
    std::string out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void ExpositionWriter::family(std::string_view name, MetricType type, std::string_view help) {
    VMX_ASSERT(is_metric_name(name));
    VMX_ASSERT(type != MetricType::counter || name.ends_with("_total"));
    name_ = name;
    type_ = type;
    // Format 0.0.4 names a counter's family with its _total, as its samples (the Go client does).
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type_name(type));
}

void ExpositionWriter::series(std::string_view suffix, MetricLabels labels, std::string_view extra_name,
                              std::string_view extra_value) {
    out_ += name_;
    out_ += suffix;
    if (labels.empty() && extra_name.empty()) {
        out_ += ' ';
        return;
    }
    char sep = '{';
    for (const MetricLabel& l : labels) {
        VMX_ASSERT(is_label_name(l.name) && l.name != "le");
        out_ += fmt::format("{}{}=\"{}\"", sep, l.name, escape_label_value(l.value));
        sep = ',';
    }
    if (!extra_name.empty()) out_ += fmt::format("{}{}=\"{}\"", sep, extra_name, extra_value);
    out_ += "} ";
}

void ExpositionWriter::sample(MetricLabels labels, std::uint64_t value) {
    VMX_ASSERT(type_ != MetricType::histogram);
    series("", labels, {}, {});
    out_ += fmt::format("{}\n", value);
}

void ExpositionWriter::sample(MetricLabels labels, double value) {
    VMX_ASSERT(type_ != MetricType::histogram);
    series("", labels, {}, {});
    out_ += number_text(value);
    out_ += '\n';
}

void ExpositionWriter::histogram(MetricLabels labels, const DurationCounts& counts) {
    VMX_ASSERT(type_ == MetricType::histogram);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < duration_bounds_us.size(); ++i) {
        cumulative += counts.buckets[i];
        series("_bucket", labels, "le", seconds_text(duration_bounds_us[i]));
        out_ += fmt::format("{}\n", cumulative);
    }
    cumulative += counts.buckets.back();
    series("_bucket", labels, "le", "+Inf");
    out_ += fmt::format("{}\n", cumulative);
    series("_sum", labels, {}, {});
    out_ += seconds_text(counts.sum_us);
    out_ += '\n';
    // _count equals the +Inf bucket, as the format requires, even if a snapshot raced an observe.
    series("_count", labels, {}, {});
    out_ += fmt::format("{}\n", cumulative);
}

}  // namespace vmx
