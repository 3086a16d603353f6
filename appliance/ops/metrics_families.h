// The metric families vaultmx exposes, and how each is read from the counters the parts list
// (common/counters.h): one table from family to counter name, labelled by shard where the shard
// matters, never by user, address or anything a client sent. Pure: counters in, exposition out
// (tests call it); the control thread gathers the inputs at each scrape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

}  // namespace vmx
