// The metric families vaultmx exposes, and how each is read from the counters the parts list
// (common/counters.h): one table from family to counter name, labelled by shard where the shard
// matters, never by user, address or anything a client sent. Pure: counters in, exposition out
// (tests call it); the control thread gathers the inputs at each scrape.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "appliance/common/counters.h"

namespace vmx {

struct MetricsInputs {
    std::vector<CounterSnapshot> shards;  // one per shard, in shard order; empty while draining
    CounterSnapshot control;              // the control thread's own (the endpoint, the login cache)
    std::optional<std::uint64_t> data_free_bytes;   // statvfs of [paths] data, for unprivileged writers
    std::optional<std::int64_t> certificate_seconds_left;  // [tls] cert's notAfter minus now
    std::string version;
};

std::string render_metrics(const MetricsInputs& inputs);

// The gauges measured at each scrape rather than listed by a part, by the names an alarm reads them.
inline constexpr std::string_view data_free_bytes_metric = "disk.free_bytes";
inline constexpr std::string_view certificate_seconds_left_metric = "tls.certificate_seconds_left";

// What an alarm rule over `family` with these label matchers ([alarms] rules) sums: the listed
// names of the family's rows whose labels match (every shard's), or a sentence saying why the
// family cannot be watched (unknown, a histogram, a label it does not have, no row matching).
std::variant<std::vector<std::string>, std::string> alarm_metrics(
    std::string_view family, std::span<const std::pair<std::string, std::string>> labels);

}  // namespace vmx
