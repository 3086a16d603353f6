// vaultmx.toml: one table (kParams) declares every parameter with its default, bounds, unit and the
// field it fills; parsing, defaults, bound checks and describe_config all walk that table, so a new
// parameter is one new row. Runs on the control thread at start-up and on reload. toml++ throws, so
// every call into it is caught here and no exception leaves this file.
#include "appliance/config/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include <toml++/toml.h>

namespace vmx {
namespace {

enum class Kind {
    number,    // unsigned integer in an EngineConfig field, stored as (value in the file) * scale
    flag,      // boolean in an EngineConfig field
    text,      // non-empty string without control characters, in a Config field
    address,   // text that must parse as a numeric host:port
    choice,    // text that must be one of `choices`
    listener,  // optional host:port; the keys present become Config::listeners, in table order
};

enum class Shape { any, power_of_two };

struct Param {
    std::string_view section;
    std::string_view key;
    Kind kind = Kind::text;
    std::int64_t default_number = 0;  // number: in the file's unit; flag: 0 or 1
    std::int64_t low = 0;             // number: bounds, inclusive, in the file's unit
    std::int64_t high = 0;
    Shape shape = Shape::any;
    std::uint32_t scale = 1;          // seconds in the file, milliseconds in EngineConfig
    std::string_view unit;            // shown by describe_config
    std::string_view zero_means;      // number: a default of 0 (outside low..high) means this
    std::uint32_t EngineConfig::*number = nullptr;          // a number lives in the engine's config...
    std::uint32_t crypto::Argon2Params::*argon2 = nullptr;  // ...or in the password-hashing parameters
    std::uint32_t store::StoreSizing::*store_number = nullptr;  // ...or in the store's options
    std::uint32_t AppLimits::*limit = nullptr;                  // ...or in the appliance's limits
    bool EngineConfig::*flag = nullptr;
    std::string_view default_text;
    std::string Config::*text = nullptr;
    std::string store::StoreOptions::*store_text = nullptr;  // a text of the store's options
    std::span<const std::string_view> choices;
};

constexpr Param count(std::string_view section, std::string_view key, std::int64_t default_value, std::int64_t low,
                      std::int64_t high, std::string_view unit, std::uint32_t EngineConfig::*field,
                      std::string_view zero_means = {}) {
    Param p;
    p.section = section;
    p.key = key;
    p.kind = Kind::number;
    p.default_number = default_value;
    p.low = low;
    p.high = high;
    p.unit = unit;
    p.zero_means = zero_means;
    p.number = field;
    return p;
}

// Sizes of rings and queues that index with a mask.
constexpr Param power_of_two(std::string_view section, std::string_view key, std::int64_t default_value,
                             std::int64_t low, std::int64_t high, std::uint32_t EngineConfig::*field) {
    Param p = count(section, key, default_value, low, high, "", field);
    p.shape = Shape::power_of_two;
    return p;
}

constexpr Param seconds(std::string_view section, std::string_view key, std::int64_t default_s, std::int64_t low_s,
                        std::int64_t high_s, std::uint32_t EngineConfig::*field_ms) {
    Param p = count(section, key, default_s, low_s, high_s, "seconds", field_ms);
    p.scale = 1000;
    return p;
}

constexpr Param flag(std::string_view section, std::string_view key, bool default_value, bool EngineConfig::*field) {
    Param p;
    p.section = section;
    p.key = key;
    p.kind = Kind::flag;
    p.default_number = default_value ? 1 : 0;
    p.flag = field;
    return p;
}

constexpr Param text(std::string_view section, std::string_view key, std::string_view default_value,
                     std::string Config::*field, Kind kind = Kind::text) {
    Param p;
    p.section = section;
    p.key = key;
    p.kind = kind;
    p.default_text = default_value;
    p.text = field;
    return p;
}

constexpr Param address(std::string_view section, std::string_view key, std::string_view default_value,
                        std::string Config::*field) {
    return text(section, key, default_value, field, Kind::address);
}

constexpr Param choice(std::string_view section, std::string_view key, std::string_view default_value,
                       std::span<const std::string_view> choices, std::string Config::*field) {
    Param p = text(section, key, default_value, field, Kind::choice);
    p.choices = choices;
    return p;
}

// Argon2id cost parameters for password hashing (crypto/password.h holds their defaults).
constexpr Param argon2(std::string_view key, std::int64_t default_value, std::int64_t low, std::int64_t high,
                       std::string_view unit, std::uint32_t crypto::Argon2Params::*field) {
    Param p = count("auth", key, default_value, low, high, unit, nullptr);
    p.argon2 = field;
    return p;
}

// [store]: numbers in store::StoreSizing, paths in store::StoreOptions (defaults in store/options.h).
constexpr Param store_count(std::string_view key, std::int64_t default_value, std::int64_t low, std::int64_t high,
                            std::string_view unit, std::uint32_t store::StoreSizing::*field) {
    Param p = count("store", key, default_value, low, high, unit, nullptr);
    p.store_number = field;
    return p;
}

// Sizes of the store lane's queues, which index with a mask.
constexpr Param store_power_of_two(std::string_view key, std::int64_t default_value, std::int64_t low, std::int64_t high,
                                   std::uint32_t store::StoreSizing::*field) {
    Param p = store_count(key, default_value, low, high, "", field);
    p.shape = Shape::power_of_two;
    return p;
}

// The appliance's own limits and timings (AppLimits).
constexpr Param limit(std::string_view section, std::string_view key, std::int64_t default_value, std::int64_t low,
                      std::int64_t high, std::string_view unit, std::uint32_t AppLimits::*field) {
    Param p = count(section, key, default_value, low, high, unit, nullptr);
    p.limit = field;
    return p;
}

constexpr Param limit_seconds(std::string_view section, std::string_view key, std::int64_t default_s, std::int64_t low_s,
                              std::int64_t high_s, std::uint32_t AppLimits::*field_ms) {
    Param p = limit(section, key, default_s, low_s, high_s, "seconds", field_ms);
    p.scale = 1000;
    return p;
}

constexpr Param store_path(std::string_view key, std::string_view default_value,
                           std::string store::StoreOptions::*field) {
    Param p = text("store", key, default_value, nullptr);
    p.store_text = field;
    return p;
}

constexpr Param listener(std::string_view key) {
    Param p;
    p.section = "listen";
    p.key = key;
    p.kind = Kind::listener;
    return p;
}

constexpr std::array<std::string_view, 4> kLogLevels{"debug", "info", "warn", "error"};

using E = EngineConfig;
using C = Config;
using S = store::StoreSizing;
using SP = store::StoreOptions;
using L = AppLimits;

// The parameters. Engine defaults must equal EngineConfig's initialisers (checked below at compile
// time), so code that builds an EngineConfig directly and a file that leaves a key out agree.
constexpr std::array kParams{
    //           section   key                          default  low   high      unit     field
    count(       "engine", "shards",                    0,       1,    1024,     "",      &E::shards,
                 "one per online CPU"),
    count(       "engine", "connections_per_shard_max", 16384,   1,    1000000,  "",
                 &E::connections_per_shard_max),
    power_of_two("engine", "ring_entries",              4096,    64,   32768,             &E::ring_entries),
    count(       "engine", "recv_buffer_bytes",         16384,   1024, 1048576,  "bytes", &E::recv_buffer_bytes),
    power_of_two("engine", "recv_buffers",              256,     16,   32768,             &E::recv_buffers),
    count(       "engine", "send_queue_bytes_max",      262144,  4096, 67108864, "bytes", &E::send_queue_bytes_max),
    seconds(     "engine", "idle_timeout_s",            300,     1,    86400,             &E::idle_timeout_ms),
    seconds(     "engine", "session_timeout_s",         3600,    1,    604800,            &E::session_timeout_ms),
    seconds(     "engine", "grace_period_s",            10,      0,    3600,              &E::grace_period_ms),
    power_of_two("engine", "inbox_capacity",            4096,    64,   1048576,           &E::inbox_capacity),
    flag(        "engine", "pin_threads",               true,                             &E::pin_threads),
    limit(       "engine", "reply_retry_max_ms",        1000,    1,    60000,    "ms",    &L::reply_retry_max_ms),
    text(        "paths",  "data",                      "var/data",                       &C::data_dir),
    text(        "keys",   "master_key_file",           "var/master.key",                 &C::master_key_file),
    text(        "tls",    "cert",                      "var/tls/cert.pem",               &C::tls_cert),
    text(        "tls",    "key",                       "var/tls/key.pem",                &C::tls_key),
    text(        "smtp",   "hostname",                  "localhost",                      &C::hostname),
    listener(              "smtp"),            // the order of these four rows is the order of
    listener(              "submission_tls"),  // Config::listeners
    listener(              "submission"),
    listener(              "pop3s"),
    text(        "admin",  "socket",                    "var/run/admin.sock",             &C::admin_socket),
    address(     "metrics", "listen",                   "127.0.0.1:9925",                 &C::metrics_listen),
    text(        "log",    "dir",                       "var/log",                        &C::log_dir),
    choice(      "log",    "level",                     "info", kLogLevels,               &C::log_level),
    argon2(      "argon2_memory_kib",           65536,   8,    crypto::argon2_memory_kib_max, "KiB",
                 &crypto::Argon2Params::memory_kib),
    argon2(      "argon2_iterations",           3,       1,    crypto::argon2_iterations_max, "",
                 &crypto::Argon2Params::iterations),
    argon2(      "argon2_parallelism",          1,       1,    crypto::argon2_parallelism_max, "",
                 &crypto::Argon2Params::parallelism),
    // [store]: kind paths are relative to [paths] data unless absolute (so they follow it by
    // default); map sizes are MiB per environment, growing on demand up to map_mib_max.
    store_count( "segments",                    16,      1,    4096,     "(used by vaultmx init only)",
                 &S::segments),
    store_path(  "mail_path",                   "mail",                           &SP::mail_path),
    store_path(  "temp_path",                   "temp",                           &SP::temp_path),
    store_path(  "smtp_in_path",                "smtp-in",                        &SP::smtp_in_path),
    store_path(  "smtp_out_path",               "smtp-out",                       &SP::smtp_out_path),
    store_count( "mail_map_mib",                1024,    1,    1048576,  "MiB",   &S::mail_map_mib),
    store_count( "queue_map_mib",               256,     1,    1048576,  "MiB",   &S::queue_map_mib),
    store_count( "temp_map_mib",                256,     1,    1048576,  "MiB",   &S::temp_map_mib),
    store_count( "global_map_mib",              64,      1,    1048576,  "MiB",   &S::global_map_mib),
    store_count( "map_mib_max",                 65536,   1,    4194304,  "MiB",   &S::map_mib_max),
    store_count( "temp_ttl_s",                  86400,   60,   2592000,  "s",     &S::temp_ttl_s),
    store_count( "trash_retention_days",        14,      1,    3650,     "days",  &S::trash_retention_days),
    store_count( "sweep_interval_s",            300,     10,   86400,    "s",     &S::sweep_interval_s),
    store_count( "delivery_batch_ms",           10,      0,    1000,     "ms",    &S::delivery_batch_ms),
    store_count( "login_history_days",          400,     1,    3650,     "days",  &S::login_history_days),
    store_power_of_two("lane_queue_capacity",   4096,    1,    1048576,           &S::lane_queue_capacity),
    store_count( "lane_batch_requests_max",     4096,    1,    1048576,  "",      &S::lane_batch_requests_max),
    store_count( "lane_batch_mib_max",          256,     1,    4096,     "MiB",   &S::lane_batch_mib_max),
    //     section     key                          default  low   high       unit     field
    limit("smtp",     "message_bytes_max",          10240000, 1024, 52428800, "bytes", &L::smtp_message_bytes_max),
    limit("smtp",     "recipients_max",             1000,    1,    100000,    "",      &L::smtp_recipients_max),
    limit("smtp",     "errors_max",                 20,      1,    1000,      "",      &L::smtp_errors_max),
    limit("pop3",     "errors_max",                 10,      1,    1000,      "",      &L::pop3_errors_max),
    limit("pop3",     "auth_failures_max",          3,       1,    100,       "",      &L::pop3_auth_failures_max),
    limit("pop3",     "messages_max",               100000,  1,    10000000,  "",      &L::pop3_messages_max),
    limit("delivery", "retry_first_s",              300,     1,    86400,     "s",     &L::delivery_retry_first_s),
    limit("delivery", "retry_max_s",                3600,    1,    604800,    "s",     &L::delivery_retry_max_s),
    limit("delivery", "lifetime_s",                 432000,  60,   2592000,   "s",     &L::delivery_lifetime_s),
    limit("delivery", "removal_batch_ms",           10,      0,    1000,      "ms",    &L::delivery_removal_batch_ms),
    limit("delivery", "marker_sweep_s",             60,      1,    86400,     "s",     &L::delivery_marker_sweep_s),
    limit("delivery", "marker_sweep_max",           4096,    1,    1000000,   "",      &L::delivery_marker_sweep_max),
    limit("auth",     "workers",                    2,       1,    256,       "",      &L::auth_workers),
    limit("auth",     "queue_max",                  256,     1,    1000000,   "",      &L::auth_queue_max),
    limit("auth",     "throttle_window_s",          900,     1,    86400,     "s",     &L::auth_throttle_window_s),
    limit("auth",     "address_free_failures",      5,       0,    100000,    "",      &L::auth_address_free_failures),
    limit("auth",     "address_refuse_failures",    30,      1,    100000,    "",      &L::auth_address_refuse_failures),
    limit("auth",     "user_free_failures",         10,      0,    100000,    "",      &L::auth_user_free_failures),
    limit("auth",     "delay_base_ms",              500,     0,    60000,     "ms",    &L::auth_delay_base_ms),
    limit("auth",     "delay_max_ms",               8000,    0,    600000,    "ms",    &L::auth_delay_max_ms),
    limit("auth",     "throttle_entries_max",       100000,  16,   10000000,  "",      &L::auth_throttle_entries_max),
    limit_seconds("admin", "io_timeout_s",          2,       1,    600,                &L::admin_io_timeout_ms),
    limit_seconds("admin", "reply_timeout_s",       30,      1,    3600,               &L::admin_reply_timeout_ms),
    limit("admin",    "connections_max",            64,      1,    4096,      "",      &L::admin_connections_max),
};

constexpr bool row_is_consistent(const Param& p) {
    const EngineConfig engine_defaults{};
    switch (p.kind) {
        case Kind::number: {
            const bool default_ok = (p.default_number >= p.low && p.default_number <= p.high) ||
                                    (p.default_number == 0 && !p.zero_means.empty());
            const bool shape_ok = p.shape == Shape::any || p.default_number == 0 ||
                                  std::has_single_bit(static_cast<std::uint64_t>(p.default_number));
            const crypto::Argon2Params argon2_defaults{};
            const store::StoreSizing store_defaults{};
            const AppLimits limit_defaults{};
            const int targets = (p.number != nullptr) + (p.argon2 != nullptr) + (p.store_number != nullptr) +
                                (p.limit != nullptr);
            const bool target_ok = targets == 1;
            const std::int64_t stored_default = p.number         ? engine_defaults.*p.number
                                                : p.argon2       ? argon2_defaults.*p.argon2
                                                : p.store_number ? store_defaults.*p.store_number
                                                                 : limit_defaults.*p.limit;
            return target_ok && p.low >= 0 && p.low <= p.high && default_ok && shape_ok &&
                   p.high * p.scale <= std::numeric_limits<std::uint32_t>::max() &&
                   p.default_number * p.scale == stored_default;
        }
        case Kind::flag:
            return p.flag != nullptr && (engine_defaults.*p.flag) == (p.default_number != 0);
        case Kind::text:
        case Kind::address:
            return (p.text != nullptr) != (p.store_text != nullptr) && !p.default_text.empty();
        case Kind::choice:
            return p.text != nullptr &&
                   std::find(p.choices.begin(), p.choices.end(), p.default_text) != p.choices.end();
        case Kind::listener:
            return p.section == "listen";
    }
    return false;
}

// The index of the first inconsistent or repeated row, or kParams.size() when all are sound.
consteval std::size_t first_bad_row() {
    for (std::size_t i = 0; i < kParams.size(); ++i) {
        if (!row_is_consistent(kParams[i])) return i;
        for (std::size_t j = 0; j < i; ++j)
            if (kParams[j].section == kParams[i].section && kParams[j].key == kParams[i].key) return i;
    }
    return kParams.size();
}
static_assert(first_bad_row() == kParams.size(), "a row of kParams disagrees with its bounds or EngineConfig");

constexpr std::size_t kConfigBytesMax = std::size_t{1} << 20;  // a config file is a few kilobytes

// --- helpers -------------------------------------------------------------------------------------

const Param* find_param(std::string_view section, std::string_view key) {
    for (const Param& p : kParams)
        if (p.section == section && p.key == key) return &p;
    return nullptr;
}

bool is_known_section(std::string_view section) {
    return std::any_of(kParams.begin(), kParams.end(), [&](const Param& p) { return p.section == section; });
}

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

// Text from the file or the command line, made safe for a one-line message.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        if (is_control(c))
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out;
}

// A TOML basic string, so that describe_config's output parses back.
std::string toml_quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (is_control(c)) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string_view type_phrase(toml::node_type type) {
    switch (type) {
        case toml::node_type::none: return "nothing";
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a floating-point number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
    }
    return "an unknown type";
}

using Line = std::uint32_t;  // 1-based; 0 when unknown

Line line_of(const toml::node& node) { return node.source().begin.line; }
Line line_of(const toml::key& key, const toml::node& node) {
    return key.source().begin.line != 0 ? key.source().begin.line : line_of(node);
}

std::string full_name(const Param& p) { return fmt::format("{}.{}", p.section, p.key); }

ConfigError error_at(std::string_view source, Line line, std::string_view what) {
    if (line == 0) return {fmt::format("{}: {}", printable(source), what)};
    return {fmt::format("{}:{}: {}", printable(source), line, what)};
}

// Every problem found in one pass; the user is told about the earliest in the file, and how many
// more there are, so that a fix-and-retry loop converges from the top.
class Problems {
public:
    void add(Line line, std::string_view name, std::string_view what) {
        list_.push_back({line, fmt::format("{}: {}", name, what)});
    }
    bool empty() const noexcept { return list_.empty(); }
    ConfigError first(std::string_view source) const {
        const auto earliest = std::min_element(list_.begin(), list_.end(), [](const Problem& a, const Problem& b) {
            return sort_key(a.line) < sort_key(b.line);
        });
        std::string what = earliest->text;
        if (list_.size() > 1)
            what += fmt::format(" (and {} more problem{})", list_.size() - 1, list_.size() > 2 ? "s" : "");
        return error_at(source, earliest->line, what);
    }

private:
    struct Problem {
        Line line;
        std::string text;
    };
    static Line sort_key(Line line) { return line == 0 ? std::numeric_limits<Line>::max() : line; }
    std::vector<Problem> list_;
};

// --- reading -------------------------------------------------------------------------------------

Config default_config() {
    Config config;
    for (const Param& p : kParams) {
        if (p.text != nullptr) config.*p.text = std::string(p.default_text);
        if (p.store_text != nullptr) config.store.*p.store_text = std::string(p.default_text);
    }
    return config;  // engine fields: EngineConfig's initialisers, equal to the table's defaults
}

// Unknown sections and keys, and sections that are not tables.
void check_layout(const toml::table& doc, Problems& problems) {
    for (auto&& [name, node] : doc) {
        if (!is_known_section(name.str())) {
            problems.add(line_of(name, node), printable(name.str()),
                         node.is_table() ? "unknown section" : "unknown key (keys belong under a [section])");
            continue;
        }
        const toml::table* section = node.as_table();
        if (section == nullptr) {
            problems.add(line_of(name, node), name.str(),
                         fmt::format("expected a section ([{}]), got {}", name.str(), type_phrase(node.type())));
            continue;
        }
        for (auto&& [key, value] : *section) {
            if (find_param(name.str(), key.str()) == nullptr)
                problems.add(line_of(key, value), fmt::format("{}.{}", name.str(), printable(key.str())),
                             "unknown key");
        }
    }
}

std::uint32_t& number_slot(const Param& p, Config& config) {
    if (p.number) return config.engine.*p.number;
    if (p.argon2) return config.argon2.*p.argon2;
    if (p.limit) return config.limits.*p.limit;
    return config.store.sizing.*p.store_number;
}

std::uint32_t number_value(const Param& p, const Config& config) {
    if (p.number) return config.engine.*p.number;
    if (p.argon2) return config.argon2.*p.argon2;
    if (p.limit) return config.limits.*p.limit;
    return config.store.sizing.*p.store_number;
}

std::string& text_slot(const Param& p, Config& config) {
    return p.text ? config.*p.text : config.store.*p.store_text;
}

const std::string& text_value(const Param& p, const Config& config) {
    return p.text ? config.*p.text : config.store.*p.store_text;
}

void read_number(const Param& p, const toml::node& node, Config& config, Problems& problems) {
    const bool power_of_two = p.shape == Shape::power_of_two;
    const std::string wanted =
        fmt::format("expected {} in {}..{}", power_of_two ? "a power of two" : "an integer", p.low, p.high);
    const auto* integer = node.as_integer();
    if (integer == nullptr) {
        problems.add(line_of(node), full_name(p), fmt::format("{}, got {}", wanted, type_phrase(node.type())));
        return;
    }
    const std::int64_t value = integer->get();
    if (value < p.low || value > p.high || (power_of_two && !std::has_single_bit(static_cast<std::uint64_t>(value)))) {
        problems.add(line_of(node), full_name(p), fmt::format("{}, got {}", wanted, value));
        return;
    }
    number_slot(p, config) = static_cast<std::uint32_t>(value) * p.scale;
}

void read_flag(const Param& p, const toml::node& node, Config& config, Problems& problems) {
    const auto* boolean = node.as_boolean();
    if (boolean == nullptr) {
        problems.add(line_of(node), full_name(p),
                     fmt::format("expected true or false, got {}", type_phrase(node.type())));
        return;
    }
    config.engine.*p.flag = boolean->get();
}

// A string that is non-empty and has no control characters, or nothing (and a problem).
std::optional<std::string> read_string(const Param& p, const toml::node& node, Problems& problems) {
    const auto* string = node.as_string();
    if (string == nullptr) {
        problems.add(line_of(node), full_name(p), fmt::format("expected a string, got {}", type_phrase(node.type())));
        return std::nullopt;
    }
    const std::string& value = string->get();
    if (value.empty()) {
        problems.add(line_of(node), full_name(p), "expected a non-empty string");
        return std::nullopt;
    }
    if (std::any_of(value.begin(), value.end(), is_control)) {
        problems.add(line_of(node), full_name(p),
                     fmt::format("expected a string without control characters, got \"{}\"", printable(value)));
        return std::nullopt;
    }
    return value;
}

std::optional<SocketAddress> read_address(const Param& p, const toml::node& node, const std::string& value,
                                          Problems& problems) {
    auto address = parse_socket_address(value);
    if (!address) {
        problems.add(line_of(node), full_name(p),
                     fmt::format("expected a numeric host:port or [v6]:port, got \"{}\"", value));
        return std::nullopt;
    }
    return std::move(address).value();
}

void read_text(const Param& p, const toml::node& node, Config& config, Problems& problems) {
    auto value = read_string(p, node, problems);
    if (!value) return;
    if (p.kind == Kind::address && !read_address(p, node, *value, problems)) return;
    if (p.kind == Kind::choice && std::find(p.choices.begin(), p.choices.end(), *value) == p.choices.end()) {
        problems.add(line_of(node), full_name(p),
                     fmt::format("expected one of {}, got \"{}\"", fmt::join(p.choices, ", "), *value));
        return;
    }
    text_slot(p, config) = std::move(*value);
}

// Appends the listener; the table's order of listener rows is the order of Config::listeners.
void read_listener(const Param& p, const toml::node& node, Config& config, Problems& problems) {
    auto value = read_string(p, node, problems);
    if (!value) return;
    auto address = read_address(p, node, *value, problems);
    if (!address) return;
    config.listeners.push_back(ListenerConfig{std::string(p.key), *address, std::move(*value)});
}

// Two listeners on one address would fail at bind time; say so now, at the later of the two lines.
void check_listeners_distinct(const toml::table& doc, const Config& config, Problems& problems) {
    const auto line_of_listener = [&](const ListenerConfig& l) {
        const toml::node* node = doc["listen"][l.name].node();
        return node != nullptr ? line_of(*node) : Line{0};
    };
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            const ListenerConfig* first = &config.listeners[j];
            const ListenerConfig* second = &config.listeners[i];
            if (first->address.to_string() != second->address.to_string()) continue;
            if (line_of_listener(*second) < line_of_listener(*first)) std::swap(first, second);
            problems.add(line_of_listener(*second), fmt::format("listen.{}", second->name),
                         fmt::format("address {} is already used by listen.{}", second->address.to_string(),
                                     first->name));
            break;  // one problem per listener, against the first that holds the address
        }
    }
}

void read_param(const Param& p, const toml::table& doc, Config& config, Problems& problems) {
    const toml::node* node = doc[p.section][p.key].node();
    if (node == nullptr) return;  // absent: the default stays (an absent listener is not opened)
    switch (p.kind) {
        case Kind::number: read_number(p, *node, config, problems); return;
        case Kind::flag: read_flag(p, *node, config, problems); return;
        case Kind::text:
        case Kind::address:
        case Kind::choice: read_text(p, *node, config, problems); return;
        case Kind::listener: read_listener(p, *node, config, problems); return;
    }
}

// Argon2 needs at least 8 KiB of memory per lane; each bound alone cannot say that.
void check_argon2_lanes(const toml::table& doc, const Config& config, Problems& problems) {
    if (crypto::validate(config.argon2)) return;
    const toml::node* node = doc.at_path("auth.argon2_memory_kib").node();
    if (!node) node = doc.at_path("auth.argon2_parallelism").node();
    problems.add(node ? line_of(*node) : Line{}, "auth.argon2_memory_kib",
                 fmt::format("must be at least 8 KiB per lane (8 * auth.argon2_parallelism = {}), got {}",
                             8ull * config.argon2.parallelism, config.argon2.memory_kib));
}

// Pairs of rows where one is a floor of the other: a first retry later than the longest, a first
// login delay above the largest, an address refused before it is even slowed.
void check_ordered_pairs(const toml::table& doc, const Config& config, Problems& problems) {
    struct Pair {
        std::string_view low_key, high_key;
        std::uint32_t low, high;
    };
    const AppLimits& l = config.limits;
    const Pair pairs[] = {
        {"delivery.retry_first_s", "delivery.retry_max_s", l.delivery_retry_first_s, l.delivery_retry_max_s},
        {"auth.delay_base_ms", "auth.delay_max_ms", l.auth_delay_base_ms, l.auth_delay_max_ms},
        {"auth.address_free_failures", "auth.address_refuse_failures", l.auth_address_free_failures,
         l.auth_address_refuse_failures},
    };
    for (const Pair& p : pairs) {
        if (p.low <= p.high) continue;
        const toml::node* node = doc.at_path(p.low_key).node();
        if (!node) node = doc.at_path(p.high_key).node();
        problems.add(node ? line_of(*node) : Line{}, std::string(p.low_key),
                     fmt::format("must not exceed {} ({}), got {}", p.high_key, p.high, p.low));
    }
}

// Each environment's initial map must fit under the growth limit.
void check_store_maps(const toml::table& doc, const Config& config, Problems& problems) {
    const store::StoreSizing& s = config.store.sizing;
    const std::uint32_t largest = std::max({s.mail_map_mib, s.queue_map_mib, s.temp_map_mib, s.global_map_mib});
    if (largest <= s.map_mib_max) return;
    const toml::node* node = doc.at_path("store.map_mib_max").node();
    problems.add(node ? line_of(*node) : Line{}, "store.map_mib_max",
                 fmt::format("must be at least the largest initial map size ({} MiB), got {}", largest,
                             s.map_mib_max));
}

std::variant<Config, ConfigError> parse_document(std::string_view toml_text, std::string_view source_name) {
    toml::table doc;
    try {
        doc = toml::parse(toml_text, source_name);
    } catch (const toml::parse_error& e) {
        return error_at(source_name, e.source().begin.line,
                        fmt::format("syntax error: {}", printable(e.description())));
    }
    Problems problems;
    check_layout(doc, problems);
    Config config = default_config();
    config.source_path = std::string(source_name);
    for (const Param& p : kParams) read_param(p, doc, config, problems);
    check_listeners_distinct(doc, config, problems);
    check_argon2_lanes(doc, config, problems);
    check_ordered_pairs(doc, config, problems);
    check_store_maps(doc, config, problems);
    if (!problems.empty()) return problems.first(source_name);
    return config;
}

std::variant<std::string, ConfigError> read_file(const std::string& path) {
    struct FileClose {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    const auto cannot_read = [&](int err) {
        return ConfigError{fmt::format("{}: cannot read: {}", printable(path), std::system_category().message(err))};
    };
    const std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rbe"));
    if (!file) return cannot_read(errno);
    std::string text;
    std::array<char, 8192> chunk{};
    for (;;) {
        const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
        text.append(chunk.data(), got);
        if (text.size() > kConfigBytesMax)
            return ConfigError{fmt::format("{}: larger than {} bytes; is this the config file?", printable(path),
                                           kConfigBytesMax)};
        if (got < chunk.size()) break;
    }
    if (std::ferror(file.get()) != 0) return cannot_read(errno);
    return text;
}

// --- describing ----------------------------------------------------------------------------------

std::string describe_param(const Param& p, const Config& config) {
    switch (p.kind) {
        case Kind::number: {
            // Like an unset listener, an unset 0 is a comment: the output must parse back.
            const std::uint32_t value = number_value(p, config) / p.scale;
            if (value == 0 && !p.zero_means.empty())
                return fmt::format("# {} is not set: {}\n", full_name(p), p.zero_means);
            if (p.unit.empty()) return fmt::format("{} = {}\n", full_name(p), value);
            return fmt::format("{} = {}  # {}\n", full_name(p), value, p.unit);
        }
        case Kind::flag:
            return fmt::format("{} = {}\n", full_name(p), config.engine.*p.flag);
        case Kind::text:
        case Kind::address:
        case Kind::choice:
            return fmt::format("{} = {}\n", full_name(p), toml_quoted(text_value(p, config)));
        case Kind::listener:
            for (const ListenerConfig& l : config.listeners)
                if (l.name == p.key) return fmt::format("{} = {}\n", full_name(p), toml_quoted(l.address_text));
            return fmt::format("# {} is not set: that listener is not opened\n", full_name(p));
    }
    return {};
}

}  // namespace

std::variant<Config, ConfigError> parse_config(std::string_view toml_text, std::string_view source_name) {
    try {
        return parse_document(toml_text, source_name);
    } catch (const std::exception& e) {  // allocation failure; toml::parse_error is handled inside
        return ConfigError{fmt::format("{}: cannot parse: {}", printable(source_name), printable(e.what()))};
    }
}

std::variant<Config, ConfigError> load_config_file(const std::string& path) {
    try {
        auto text = read_file(path);
        if (auto* error = std::get_if<ConfigError>(&text)) return std::move(*error);
        return parse_config(std::get<std::string>(text), path);
    } catch (const std::exception& e) {
        return ConfigError{fmt::format("{}: cannot read: {}", printable(path), printable(e.what()))};
    }
}

std::string describe_config(const Config& config) {
    std::string out = "# vaultmx effective configuration";
    if (!config.source_path.empty()) out += fmt::format(", from {}", printable(config.source_path));
    out += '\n';
    for (const Param& p : kParams) out += describe_param(p, config);
    return out;
}

std::optional<Config> load_config_or_report(std::string_view program, const std::string& path) {
    auto loaded = load_config_file(path);
    if (auto* error = std::get_if<ConfigError>(&loaded)) {
        std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), error->message.c_str());
        return std::nullopt;
    }
    return std::get<Config>(std::move(loaded));
}

}  // namespace vmx
