// ExpositionWriter: the Prometheus text format 0.0.4 (what `GET /metrics` answers), one family at
// a time: `# HELP` and `# TYPE` once, then its samples. It escapes HELP text and label values as
// the format says, refuses names the format does not allow (a programmer error: VMX_ASSERT), and
// writes a histogram's buckets cumulatively with `le` in seconds and a final `+Inf`. Pure: text
// out; any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "core/duration_histogram.h"

namespace vmx {

inline constexpr std::string_view exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType : std::uint8_t { counter, gauge, histogram };

struct MetricLabel {
    std::string_view name;   // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
    std::string_view value;  // any UTF-8; escaped here
};
using MetricLabels = std::span<const MetricLabel>;

// True for a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and label name.
bool is_metric_name(std::string_view name);
bool is_label_name(std::string_view name);
// A label value or HELP text escaped for the format: \\ and \n, and \" in label values.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);

class ExpositionWriter {
public:
    // Starts a family; each name once per exposition. A counter's name ends in "_total".
    void family(std::string_view name, MetricType type, std::string_view help);
    // A sample of the current counter or gauge family.
    void sample(MetricLabels labels, std::uint64_t value);
    void sample(MetricLabels labels, double value);
    void sample(std::initializer_list<MetricLabel> labels, std::uint64_t value) { sample(span_of(labels), value); }
    void sample(std::initializer_list<MetricLabel> labels, double value) { sample(span_of(labels), value); }
    // The current histogram family's series for one label set: _bucket (cumulative), _sum, _count.
    void histogram(MetricLabels labels, const DurationCounts& counts);
    void histogram(std::initializer_list<MetricLabel> labels, const DurationCounts& counts) {
        histogram(span_of(labels), counts);
    }

    const std::string& text() const noexcept { return out_; }
    std::string take() { return std::move(out_); }

private:
    static MetricLabels span_of(std::initializer_list<MetricLabel> l) { return {l.begin(), l.size()}; }
    void series(std::string_view suffix, MetricLabels labels, std::string_view extra_name, std::string_view extra_value);

    std::string out_;
    std::string name_;
    MetricType type_ = MetricType::counter;
};

}  // namespace vmx
