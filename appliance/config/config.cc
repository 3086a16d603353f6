// vaultmx.toml: one table (kParams) declares every parameter with its default, bounds, unit and the
// field it fills; parsing, defaults, bound checks and describe_config all walk that table, so a new
// parameter is one new row. Runs on the control thread at start-up and on reload. toml++ throws, so
// every call into it is caught here and no exception leaves this file.
#include "appliance/config/config.h"
#include "appliance/config/config_detail.h"
#include "appliance/config/params.h"
#include "appliance/config/alarm_rule_text.h"
#include "appliance/config/next_hop.h"
#include "store/rados_layout.h"

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

#include "core/patterns.h"

namespace vmx {

// Text from the file or the command line, made safe for a one-line message.
std::string config_detail::printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f)
            out += fmt::format("\\x{:02x}", byte);
        else
            out += c;
    }
    return out;
}

namespace {

using namespace config_table;
using config_detail::printable;


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

// The sub-tables of a section that map domains to values: [delivery.routes], [delivery.tls_policies].
bool is_domain_table(std::string_view section, std::string_view key) {
    return section == "delivery" && (key == "routes" || key == "tls_policies");
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
            if (is_domain_table(name.str(), key.str())) continue;  // read by read_domain_tables
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
    if (p.flag) config.engine.*p.flag = boolean->get();
    else config.limits.*p.limit_flag = boolean->get();
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

// An array of strings, each checked by the row (a typo must never silently exempt nothing, or all,
// nor leave an alarm unwatched), at most items_max of them.
void read_list(const Param& p, const toml::node& node, Config& config, Problems& problems) {
    const auto* array = node.as_array();
    if (array == nullptr) {
        problems.add(line_of(node), full_name(p),
                     fmt::format("expected an array of strings, each {}, got {}", p.item_example, type_phrase(node.type())));
        return;
    }
    if (array->size() > p.items_max) {
        problems.add(line_of(node), full_name(p), fmt::format("at most {} items, got {}", p.items_max, array->size()));
        return;
    }
    std::vector<std::string> texts;
    for (const toml::node& item : *array) {
        const auto* string = item.as_string();
        if (string == nullptr) {
            problems.add(line_of(item), full_name(p), fmt::format("expected {}, got {}", p.item_example, type_phrase(item.type())));
            return;
        }
        if (std::string wrong = p.item_check(string->get()); !wrong.empty()) {
            problems.add(line_of(item), full_name(p),
                         fmt::format("expected {}, got \"{}\": {}", p.item_example, printable(string->get()), wrong));
            return;
        }
        texts.push_back(string->get());
    }
    config.*p.list = std::move(texts);
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
        case Kind::optional_text:
        case Kind::address:
        case Kind::choice: read_text(p, *node, config, problems); return;
        case Kind::listener: read_listener(p, *node, config, problems); return;
        case Kind::list: read_list(p, *node, config, problems); return;
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

// backend = "rados" needs its cluster; then the store's shared spaces are opened there (connecting
// at the first one, so a command that never opens the store never reaches the cluster).
void check_store_backend(const toml::table& doc, Config& config, Problems& problems) {
    if (config.store_backend != "rados") return;
    if (config.rados_conf.empty()) {
        const toml::node* node = doc.at_path("store.backend").node();
        problems.add(node ? line_of(*node) : Line{}, "rados.conf",
                     "must name the cluster's ceph.conf when [store] backend is \"rados\"");
        return;
    }
    config.store.shared_spaces = store::rados_spaces(store::RadosOptions{
        config.rados_conf, config.rados_pool, config.rados_namespace, config.limits.rados_timeout_s});
}

// [delivery.routes] (domain -> next hop) and [delivery.tls_policies] (domain -> level).
void read_domain_tables(const toml::table& doc, Config& config, Problems& problems) {
    const auto read = [&](std::string_view key, const auto& store_value) {
        const toml::node* node = doc["delivery"][key].node();
        if (node == nullptr) return;
        const toml::table* table = node->as_table();
        if (table == nullptr) {
            problems.add(line_of(*node), fmt::format("delivery.{}", key),
                         fmt::format("expected a table ([delivery.{}]), got {}", key, type_phrase(node->type())));
            return;
        }
        for (auto&& [name, value] : *table) {
            std::string domain(name.str());
            std::transform(domain.begin(), domain.end(), domain.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            const std::string where = fmt::format("delivery.{}.\"{}\"", key, printable(name.str()));
            if (!matches(Pattern::domain, domain)) {
                problems.add(line_of(name, value), where, "expected a domain as the key");
                continue;
            }
            const auto* text = value.as_string();
            if (text == nullptr) {
                problems.add(line_of(name, value), where, fmt::format("expected a string, got {}", type_phrase(value.type())));
                continue;
            }
            if (auto problem = store_value(domain, text->get())) problems.add(line_of(name, value), where, *problem);
        }
    };
    read("routes", [&](const std::string& domain, const std::string& value) -> std::optional<std::string> {
        auto hop = parse_next_hop(value);
        if (!hop) return fmt::format("expected host, host:port or [host]:port, got \"{}\"", printable(value));
        config.delivery_routes[domain] = *hop;
        return std::nullopt;
    });
    read("tls_policies", [&](const std::string& domain, const std::string& value) -> std::optional<std::string> {
        if (std::find(kTlsLevels.begin(), kTlsLevels.end(), value) == kTlsLevels.end())
            return fmt::format("expected one of {}, got \"{}\"", fmt::join(kTlsLevels, ", "), printable(value));
        config.delivery_tls_policies[domain] = value;
        return std::nullopt;
    });
}

// [delivery] resolver is IP:PORT, comma-separated; relayhost is a next hop.
void check_delivery_texts(const toml::table& doc, const Config& config, Problems& problems) {
    const auto at = [&](std::string_view path) {
        const toml::node* node = doc.at_path(path).node();
        return node ? line_of(*node) : Line{};
    };
    std::string_view rest = config.delivery_resolver;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view one = rest.substr(0, comma);
        while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
        while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
        if (!parse_socket_address(one))
            problems.add(at("delivery.resolver"), "delivery.resolver",
                         fmt::format("expected IP:PORT (comma-separated), got \"{}\"", printable(one)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    if (!config.delivery_relayhost.empty() && !parse_next_hop(config.delivery_relayhost))
        problems.add(at("delivery.relayhost"), "delivery.relayhost",
                     fmt::format("expected host, host:port or [host]:port, got \"{}\"", printable(config.delivery_relayhost)));
}

// [smtp] postmaster, when set, is one address (a local mailbox, checked when mail comes).
void check_smtp_texts(const toml::table& doc, const Config& config, Problems& problems) {
    if (config.postmaster.empty() || matches(Pattern::address, config.postmaster)) return;
    const toml::node* node = doc.at_path("smtp.postmaster").node();
    problems.add(node ? line_of(*node) : Line{}, "smtp.postmaster",
                 fmt::format("expected an address (local@domain), got \"{}\"", printable(config.postmaster)));
}

// [alarms]: the rules' names are distinct, and mail_to is one address.
void check_alarm_texts(const toml::table& doc, const Config& config, Problems& problems) {
    const toml::node* rules = doc.at_path("alarms.rules").node();
    std::vector<std::string> names;
    for (const std::string& text : config.alarm_rules) {
        const auto parsed = parse_alarm_rule(text);
        const std::string& name = std::get<AlarmRuleText>(parsed).name;  // each parsed when it was read
        if (std::find(names.begin(), names.end(), name) != names.end()) {
            problems.add(rules ? line_of(*rules) : Line{}, "alarms.rules", fmt::format("rule name {} is used twice", name));
            return;
        }
        names.push_back(name);
    }
    if (config.alarms_mail_to.empty() || matches(Pattern::address, config.alarms_mail_to)) return;
    const toml::node* node = doc.at_path("alarms.mail_to").node();
    problems.add(node ? line_of(*node) : Line{}, "alarms.mail_to",
                 fmt::format("expected an address (local@domain), got \"{}\"", printable(config.alarms_mail_to)));
}

// [log] ship_to is host, host:port or [v6]:port (6514, RFC 5425's port, when none is given); a
// client certificate needs both halves.
void check_log_shipping(const toml::table& doc, const Config& config, Problems& problems) {
    auto at = [&](std::string_view path) {
        const toml::node* node = doc.at_path(path).node();
        return node ? line_of(*node) : Line{};
    };
    if (!config.log_ship_to.empty() && !parse_next_hop(config.log_ship_to, 6514))
        problems.add(at("log.ship_to"), "log.ship_to",
                     fmt::format("expected host, host:port or [host]:port, got \"{}\"", printable(config.log_ship_to)));
    if (config.log_ship_cert.empty() != config.log_ship_key.empty())
        problems.add(at(config.log_ship_cert.empty() ? "log.ship_key" : "log.ship_cert"), "log.ship_cert",
                     "ship_cert and ship_key go together: set both or neither");
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
    check_store_backend(doc, config, problems);
    read_domain_tables(doc, config, problems);
    check_delivery_texts(doc, config, problems);
    check_smtp_texts(doc, config, problems);
    check_log_shipping(doc, config, problems);
    check_alarm_texts(doc, config, problems);
    if (!problems.empty()) return problems.first(source_name);
    return config;
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
            return fmt::format("{} = {}\n", full_name(p), p.flag ? config.engine.*p.flag : config.limits.*p.limit_flag);
        case Kind::optional_text:
            if (text_value(p, config).empty()) return fmt::format("# {} is not set: {}\n", full_name(p), p.zero_means);
            return fmt::format("{} = {}\n", full_name(p), toml_quoted(text_value(p, config)));
        case Kind::text:
        case Kind::address:
        case Kind::choice:
            return fmt::format("{} = {}\n", full_name(p), toml_quoted(text_value(p, config)));
        case Kind::listener:
            for (const ListenerConfig& l : config.listeners)
                if (l.name == p.key) return fmt::format("{} = {}\n", full_name(p), toml_quoted(l.address_text));
            return fmt::format("# {} is not set: that listener is not opened\n", full_name(p));
        case Kind::list: {
            std::vector<std::string> quoted;
            for (const std::string& text : config.*p.list) quoted.push_back(toml_quoted(text));
            return fmt::format("{} = [{}]\n", full_name(p), fmt::join(quoted, ", "));
        }
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

std::string describe_config(const Config& config) {
    std::string out = "# vaultmx effective configuration";
    if (!config.source_path.empty()) out += fmt::format(", from {}", printable(config.source_path));
    out += '\n';
    for (const Param& p : kParams) out += describe_param(p, config);
    for (const auto& [domain, hop] : config.delivery_routes)
        out += fmt::format("delivery.routes.{} = {}\n", toml_quoted(domain), toml_quoted(hop.to_string()));
    for (const auto& [domain, level] : config.delivery_tls_policies)
        out += fmt::format("delivery.tls_policies.{} = {}\n", toml_quoted(domain), toml_quoted(level));
    return out;
}

}  // namespace vmx
