// The table of settings: every parameter of vaultmx.toml declared once (kParams) with its default,
// bounds, unit and the field it fills, and a compile-time check that each row agrees with the
// defaults in the structs it fills. Included only by config.cc, which parses, checks and describes
// through it; a new setting is one new row here.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "appliance/config/alarm_rule_text.h"
#include "appliance/config/config.h"

namespace vmx::config_table {

enum class Kind {
    number,    // unsigned integer in an EngineConfig field, stored as (value in the file) * scale
    flag,      // boolean in an EngineConfig or AppLimits field
    text,      // non-empty string without control characters, in a Config field
    optional_text,  // as text, but may be left out (empty; `zero_means` says what that means)
    address,   // text that must parse as a numeric host:port
    choice,    // text that must be one of `choices`
    listener,  // optional host:port; the keys present become Config::listeners, in table order
    list,      // an array of strings, each passing `item_check`, at most `items_max`, maybe empty
};

// One item of a list: empty when it is sound, else what is wrong with it.
using ItemCheck = std::string (*)(std::string_view item);

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
    bool EngineConfig::*flag = nullptr;     // a flag lives in the engine's config...
    bool AppLimits::*limit_flag = nullptr;  // ...or in the appliance's limits
    std::string_view default_text;
    std::string Config::*text = nullptr;
    std::vector<std::string> Config::*list = nullptr;        // list
    ItemCheck item_check = nullptr;                          // list: each item's check
    std::string_view item_example;                           // list: "a network (\"192.0.2.0/24\")"
    std::size_t items_max = 0;
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

constexpr Param limit_flag(std::string_view section, std::string_view key, bool default_value, bool AppLimits::*field) {
    Param p;
    p.section = section;
    p.key = key;
    p.kind = Kind::flag;
    p.default_number = default_value ? 1 : 0;
    p.limit_flag = field;
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

constexpr Param optional_text(std::string_view section, std::string_view key, std::string_view unset_means,
                              std::string Config::*field) {
    Param p = text(section, key, {}, field, Kind::optional_text);
    p.zero_means = unset_means;
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

std::string check_network(std::string_view item);
std::string check_alarm_rule(std::string_view item);
std::string check_host_name(std::string_view item);
std::string check_domain_host(std::string_view item);

constexpr Param list(std::string_view section, std::string_view key, std::string_view example, ItemCheck check,
                     std::size_t items_max, std::vector<std::string> Config::*field) {
    Param p;
    p.section = section;
    p.key = key;
    p.kind = Kind::list;
    p.zero_means = "none";
    p.list = field;
    p.item_check = check;
    p.item_example = example;
    p.items_max = items_max;
    return p;
}

// CIDRs ("192.0.2.0/24", "2001:db8::/32", or one address).
constexpr Param networks(std::string_view section, std::string_view key, std::vector<std::string> Config::*field) {
    return list(section, key, "a network (\"192.0.2.0/24\", \"2001:db8::/32\" or an address)", check_network, 4096,
                field);
}

constexpr std::array<std::string_view, 4> kLogLevels{"debug", "info", "warn", "error"};
constexpr std::array<std::string_view, 4> kTlsLevels{"none", "may", "encrypt", "verify"};
constexpr std::array<std::string_view, 2> kAuthTlsLevels{"verify", "encrypt"};
constexpr std::array<std::string_view, 2> kDmarcRejectActions{"refuse", "mark"};
constexpr std::array<std::string_view, 2> kStoreBackends{"lmdb", "rados"};

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
    text(        "backup", "dir",                       "var/backup",                     &C::backup_dir),
    limit(       "backup", "interval_h",                0,       0,    8760,     "hours (0: no schedule)", &L::backup_interval_h),
    limit(       "backup", "keep",                      7,       1,    1000,     "scheduled backups", &L::backup_keep),
    text(        "keys",   "master_key_file",           "var/master.key",                 &C::master_key_file),
    text(        "tls",    "cert",                      "var/tls/cert.pem",               &C::tls_cert),
    text(        "tls",    "key",                       "var/tls/key.pem",                &C::tls_key),
    text(        "smtp",   "hostname",                  "localhost",                      &C::hostname),
    optional_text("smtp",  "postmaster",                "postmaster@ the [smtp] hostname", &C::postmaster),
    text(        "service", "user",                     "vaultmx",                        &C::service_user),
    text(        "service", "group",                    "vaultmx",                        &C::service_group),
    listener(              "smtp"),            // the order of these four rows is the order of
    listener(              "submission_tls"),  // Config::listeners
    listener(              "submission"),
    listener(              "pop3s"),
    text(        "admin",  "socket",                    "var/run/admin.sock",             &C::admin_socket),
    address(     "metrics", "listen",                   "127.0.0.1:9925",                 &C::metrics_listen),
    // [portal]: vaultmx-portal's HTTPS and redirect listeners, its user, and the daemon's
    // user-scoped socket it talks through (root and that user only).
    text(        "portal", "socket",                    "var/run/portal.sock",            &C::portal_socket),
    address(     "portal", "listen",                    "127.0.0.1:8443",                 &C::portal_listen),
    address(     "portal", "redirect_listen",           "127.0.0.1:8080",                 &C::portal_redirect_listen),
    text(        "portal", "user",                      "vaultmx-portal",                 &C::portal_user),
    limit(       "portal", "session_max_s",             28800,   300,  2592000,  "s",     &L::portal_session_max_s),
    limit(       "portal", "idle_s",                    1800,    60,   86400,    "s",     &L::portal_idle_s),
    limit(       "portal", "sessions_max",              10000,   16,   1000000,  "sessions", &L::portal_sessions_max),
    limit(       "portal", "workers",                   4,       1,    64,       "threads", &L::portal_workers),
    limit(       "portal", "body_bytes_max",            65536,   1024, 1048576,  "bytes", &L::portal_body_bytes_max),
    limit(       "portal", "connections_max",           4096,    16,   1000000,  "",      &L::portal_connections_max),
    limit(       "portal", "idle_timeout_s",            60,      5,    3600,     "s",     &L::portal_idle_timeout_s),
    // [acme]: certificates from an ACME CA (RFC 8555), HTTP-01 answered on [portal] redirect_listen
    optional_text("acme",  "directory",                 "no ACME: [tls] cert and key only", &C::acme_directory),
    optional_text("acme",  "email",                     "an account without contact",     &C::acme_email),
    optional_text("acme",  "ca_file",                   "the system's CA store",          &C::acme_ca_file),
    list(        "acme",   "names", "a host name such as \"mail.example.net\"", check_host_name, 99, &C::acme_names),
    list(        "acme",   "domain_names", "a host name with {domain}, such as \"mail.{domain}\"", check_domain_host, 8,
                 &C::acme_domain_names),
    limit(       "acme",   "renew_days",                30,      1,    3650,     "days",  &L::acme_renew_days),
    limit(       "acme",   "check_interval_s",          3600,    5,    86400,    "s",     &L::acme_check_interval_s),
    limit(       "acme",   "timeout_s",                 30,      1,    600,      "s",     &L::acme_timeout_s),
    text(        "log",    "dir",                       "var/log",                        &C::log_dir),
    choice(      "log",    "level",                     "info", kLogLevels,               &C::log_level),
    limit(       "log",    "retention_days",            400,     1,    3650,     "days",  &L::log_retention_days),
    limit(       "log",    "spool_mib_max",             4096,    16,   1048576,  "MiB",   &L::log_spool_mib_max),
    limit_flag(  "log",    "echo_stderr",               false,                            &L::log_echo_stderr),
    optional_text("log",   "ship_to",                   "no shipping",                    &C::log_ship_to),
    optional_text("log",   "ship_ca",                   "the system's trust anchors",     &C::log_ship_ca),
    optional_text("log",   "ship_cert",                 "no client certificate",          &C::log_ship_cert),
    optional_text("log",   "ship_key",                  "no client certificate",          &C::log_ship_key),
    limit(       "alarms", "commit_failures_max",       0,       0,    1000000,  "per 5 minutes", &L::alarms_commit_failures_max),
    limit(       "alarms", "delivery_failures_max",     100,     0,    1000000,  "per 5 minutes", &L::alarms_delivery_failures_max),
    limit(       "alarms", "queue_max",                 10000,   0,    100000000, "messages", &L::alarms_queue_max),
    limit(       "alarms", "disk_free_percent_min",     10,      0,    99,       "percent", &L::alarms_disk_free_percent_min),
    limit(       "alarms", "shipping_backlog_max",      100000,  0,    100000000, "events", &L::alarms_shipping_backlog_max),
    limit(       "alarms", "login_failures_max",        200,     0,    1000000,  "per 5 minutes", &L::alarms_login_failures_max),
    limit(       "alarms", "certificate_days_min",      14,      0,    3650,     "days",  &L::alarms_certificate_days_min),
    limit(       "alarms", "backup_age_h_max",          48,      1,    87600,    "hours", &L::alarms_backup_age_h_max),
    list(        "alarms", "rules", "a rule such as \"queue_high: vaultmx_queue_messages > 500\"",
                 check_alarm_rule, alarm_rules_max, &C::alarm_rules),
    optional_text("alarms", "mail_to",                  "no alarm mail",                  &C::alarms_mail_to),
    limit(       "alarms", "mail_interval_s",           60,      10,   86400,    "seconds", &L::alarms_mail_interval_s),
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
    // lmdb: everything in this box's data folder; rados: the directory, keys, audit, mail and temp on
    // a Ceph cluster that several vaultmxd nodes share ([rados]), the queues in each node's folder.
    choice(      "store",  "backend",                   "lmdb", kStoreBackends,           &C::store_backend),
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
    store_count( "sweep_interval_s",            300,     1,    86400,    "s",     &S::sweep_interval_s),
    store_count( "delivery_batch_ms",           10,      0,    1000,     "ms",    &S::delivery_batch_ms),
    store_count( "login_history_days",          400,     1,    3650,     "days",  &S::login_history_days),
    store_power_of_two("lane_queue_capacity",   4096,    1,    1048576,           &S::lane_queue_capacity),
    store_count( "lane_batch_requests_max",     4096,    1,    1048576,  "",      &S::lane_batch_requests_max),
    store_count( "lane_batch_mib_max",          256,     1,    4096,     "MiB",   &S::lane_batch_mib_max),
    // [rados]: the cluster of [store] backend = "rados" (librados; every operation bounded by timeout_s).
    optional_text("rados", "conf",                      "no cluster ([store] backend = \"lmdb\")", &C::rados_conf),
    text(        "rados",  "pool",                      "vaultmx",                        &C::rados_pool),
    optional_text("rados", "namespace",                 "the pool's default namespace",   &C::rados_namespace),
    limit(       "rados",  "timeout_s",                 30,      1,    600,      "s",     &L::rados_timeout_s),
    // A POP3 maildrop lock held by a node that died is free again this long after its last renewal.
    limit(       "rados",  "lease_s",                   30,      3,    600,      "s",     &L::rados_lease_s),
    // Threads that read the cluster for the shards (RCPT look-ups, logins, deliveries, POP3 listings
    // and bodies), so no shard waits on a round trip; reads past read_queue_max waiting get a
    // temporary failure. 0: each shard reads for itself, waiting on every round trip (a baseline).
    limit(       "rados",  "readers",                   8,       0,    256,      "",      &L::rados_readers),
    limit(       "rados",  "read_queue_max",            4096,    16,   1048576,  "",      &L::rados_read_queue_max),
    // [lifecycle]: a closed account's or organisation's data is purged this long after closing
    // (0: at the next sweep); until then `user reopen` / `org reopen` give everything back.
    limit("lifecycle", "closure_purge_days",        37,      0,    3650,      "days",  &L::lifecycle_closure_purge_days),
    // [support]: `support mailbox --reveal` opens a window this long for the user (an hour at most).
    limit("support",  "reveal_window_s",            3600,    60,   3600,      "s",     &L::support_reveal_window_s),
    //     section     key                          default  low   high       unit     field
    limit("smtp",     "message_bytes_max",          10240000, 1024, 52428800, "bytes", &L::smtp_message_bytes_max),
    limit("smtp",     "recipients_max",             1000,    1,    100000,    "",      &L::smtp_recipients_max),
    limit("smtp",     "errors_max",                 20,      1,    1000,      "",      &L::smtp_errors_max),
    limit("smtp",     "hop_count_max",              50,      1,    1000,      "",      &L::smtp_hop_count_max),
    networks("limits", "exempt_networks",                                              &C::exempt_networks),
    limit("limits",   "client_connections_max",     20,      0,    100000,    "",      &L::limits_client_connections_max),
    limit("limits",   "client_connections_per_minute", 60,   0,    1000000,   "",      &L::limits_client_connections_per_minute),
    limit("limits",   "client_messages_per_minute", 120,     0,    1000000,   "",      &L::limits_client_messages_per_minute),
    limit("limits",   "client_recipients_per_minute", 600,   0,    10000000,  "",      &L::limits_client_recipients_per_minute),
    limit("limits",   "greet_wait_ms",              1000,    0,    30000,     "ms",    &L::limits_greet_wait_ms),
    limit("limits",   "ban_failures",               10,      0,    100000,    "",      &L::limits_ban_failures),
    limit("limits",   "ban_window_s",               600,     1,    86400,     "s",     &L::limits_ban_window_s),
    limit("limits",   "ban_duration_s",             3600,    1,    31536000,  "s",     &L::limits_ban_duration_s),
    limit("limits",   "bans_max",                   100000,  16,   10000000,  "",      &L::limits_bans_max),
    limit("limits",   "clients_tracked_max",        100000,  16,   10000000,  "",      &L::limits_clients_tracked_max),
    limit("submission", "message_bytes_max",        26214400, 1024, 52428800, "bytes", &L::submission_message_bytes_max),
    limit("submission", "recipients_max",           100,     1,    1000,      "",      &L::submission_recipients_max),
    limit("submission", "errors_max",               20,      1,    1000,      "",      &L::submission_errors_max),
    limit("submission", "auth_failures_max",        3,       1,    100,       "",      &L::submission_auth_failures_max),
    limit("submission", "messages_per_hour",        500,     0,    1000000,   "",      &L::submission_messages_per_hour),
    limit("submission", "recipients_per_hour",      2000,    0,    1000000,   "",      &L::submission_recipients_per_hour),
    limit_flag("submission", "hide_client_address", true,                              &L::submission_hide_client_address),
    limit("pop3",     "errors_max",                 10,      1,    1000,      "",      &L::pop3_errors_max),
    limit("pop3",     "auth_failures_max",          3,       1,    100,       "",      &L::pop3_auth_failures_max),
    limit("pop3",     "messages_max",               100000,  1,    10000000,  "",      &L::pop3_messages_max),
    limit("delivery", "retry_first_s",              300,     1,    86400,     "s",     &L::delivery_retry_first_s),
    limit("delivery", "retry_max_s",                3600,    1,    604800,    "s",     &L::delivery_retry_max_s),
    limit("delivery", "lifetime_s",                 432000,  60,   2592000,   "s",     &L::delivery_lifetime_s),
    limit("delivery", "removal_batch_ms",           10,      0,    1000,      "ms",    &L::delivery_removal_batch_ms),
    limit("delivery", "marker_sweep_s",             60,      1,    86400,     "s",     &L::delivery_marker_sweep_s),
    limit("delivery", "marker_sweep_max",           4096,    1,    1000000,   "",      &L::delivery_marker_sweep_max),
    limit("delivery", "mx_port",                    25,      1,    65535,     "",      &L::delivery_mx_port),
    limit("delivery", "connect_timeout_s",          30,      1,    600,       "s",     &L::delivery_connect_timeout_s),
    limit("delivery", "reply_timeout_s",            300,     1,    3600,      "s",     &L::delivery_reply_timeout_s),
    limit("delivery", "session_timeout_s",          3600,    10,   86400,     "s",     &L::delivery_session_timeout_s),
    limit("delivery", "connections_max",            100,     1,    100000,    "",      &L::delivery_connections_max),
    limit("delivery", "concurrency_initial",        2,       1,    1000,      "",      &L::delivery_concurrency_initial),
    limit("delivery", "concurrency_max",            20,      1,    1000,      "",      &L::delivery_concurrency_max),
    limit("delivery", "messages_per_connection",    100,     1,    100000,    "",      &L::delivery_messages_per_connection),
    limit("delivery", "dead_backoff_s",             60,      1,    86400,     "s",     &L::delivery_dead_backoff_s),
    limit("delivery", "dns_cache_s",                300,     0,    86400,     "s",     &L::delivery_dns_cache_s),
    limit("delivery", "reply_lines_max",            100,     1,    10000,     "",      &L::delivery_reply_lines_max),
    limit("delivery", "reply_line_bytes_max",       2048,    512,  65536,     "bytes", &L::delivery_reply_line_bytes_max),
    limit("delivery", "body_cache_mib",             64,      0,    65536,     "MiB",   &L::delivery_body_cache_mib),
    limit("delivery", "bounce_headers_bytes_max",   65536,   1024, 1048576,   "bytes", &L::delivery_bounce_headers_bytes_max),
    optional_text("delivery", "resolver",     "the nameservers of /etc/resolv.conf", &C::delivery_resolver),
    optional_text("delivery", "relayhost",    "mail goes to each domain's MX hosts", &C::delivery_relayhost),
    optional_text("delivery", "relayhost_user", "no AUTH at the relayhost",          &C::delivery_relayhost_user),
    choice(       "delivery", "relayhost_tls", "verify", kAuthTlsLevels,           &C::delivery_relayhost_tls),
    choice(       "delivery", "tls",          "may", kTlsLevels,                    &C::delivery_tls),
    optional_text("delivery", "tls_ca_file",  "the system's CA store",               &C::delivery_tls_ca_file),
    limit("auth",     "workers",                    2,       1,    256,       "",      &L::auth_workers),
    limit("auth",     "queue_max",                  256,     1,    1000000,   "",      &L::auth_queue_max),
    limit("auth",     "throttle_window_s",          900,     1,    86400,     "s",     &L::auth_throttle_window_s),
    limit("auth",     "address_free_failures",      5,       0,    100000,    "",      &L::auth_address_free_failures),
    limit("auth",     "address_refuse_failures",    30,      1,    100000,    "",      &L::auth_address_refuse_failures),
    limit("auth",     "user_free_failures",         10,      0,    100000,    "",      &L::auth_user_free_failures),
    limit("auth",     "delay_base_ms",              500,     0,    60000,     "ms",    &L::auth_delay_base_ms),
    limit("auth",     "delay_max_ms",               8000,    0,    600000,    "ms",    &L::auth_delay_max_ms),
    limit("auth",     "throttle_entries_max",       100000,  16,   10000000,  "",      &L::auth_throttle_entries_max),
    limit("auth",     "login_cache_ttl_s",          900,     0,    3600,      "s",     &L::auth_login_cache_ttl_s),
    limit("auth",     "login_cache_entries_max",    100000,  16,   10000000,  "",      &L::auth_login_cache_entries_max),
    limit_flag("mailauth", "sign",                  true,                              &L::mailauth_sign),
    limit_flag("mailauth", "check_spf",             true,                              &L::mailauth_check_spf),
    limit_flag("mailauth", "check_dkim",            true,                              &L::mailauth_check_dkim),
    limit_flag("mailauth", "check_dmarc",           true,                              &L::mailauth_check_dmarc),
    choice(       "mailauth", "dmarc_reject", "refuse", kDmarcRejectActions,       &C::mailauth_dmarc_reject),
    optional_text("mailauth", "authserv_id",  "the [smtp] hostname",               &C::mailauth_authserv_id),
    limit("mailauth", "workers",                    2,       1,    256,       "",      &L::mailauth_workers),
    limit("mailauth", "queue_max",                  1024,    1,    1000000,   "",      &L::mailauth_queue_max),
    limit("mailauth", "dns_lookups_max",            40,      10,   1000,      "",      &L::mailauth_dns_lookups_max),
    limit("mailauth", "time_max_ms",                10000,   100,  120000,    "ms",    &L::mailauth_time_max_ms),
    limit("mailauth", "dns_timeout_ms",             2000,    100,  30000,     "ms",    &L::mailauth_dns_timeout_ms),
    limit("mailauth", "dkim_signatures_max",        5,       1,    100,       "",      &L::mailauth_dkim_signatures_max),
    limit("mailauth", "dkim_key_bits_min",          1024,    512,  16384,     "bits",  &L::mailauth_dkim_key_bits_min),
    limit("mailauth", "dkim_retire_days",           7,       1,    365,       "days",  &L::mailauth_dkim_retire_days),
    limit_seconds("admin", "io_timeout_s",          2,       1,    600,                &L::admin_io_timeout_ms),
    limit_seconds("admin", "reply_timeout_s",       30,      1,    3600,               &L::admin_reply_timeout_ms),
    limit("admin",    "connections_max",            64,      1,    4096,      "",      &L::admin_connections_max),
    limit_seconds("metrics", "io_timeout_s",        5,       1,    600,                &L::metrics_io_timeout_ms),
    limit("metrics",  "connections_max",            16,      1,    1024,      "",      &L::metrics_connections_max),
    limit("metrics",  "request_line_bytes_max",     1024,    64,   8192,      "bytes", &L::metrics_request_line_bytes_max),
    limit("metrics",  "head_bytes_max",             8192,    256,  65536,     "bytes", &L::metrics_head_bytes_max),
    limit("metrics",  "header_fields_max",          32,      1,    256,       "",      &L::metrics_header_fields_max),
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
            if ((p.flag != nullptr) == (p.limit_flag != nullptr)) return false;
            return (p.flag ? engine_defaults.*p.flag : AppLimits{}.*p.limit_flag) == (p.default_number != 0);
        case Kind::text:
        case Kind::address:
            return (p.text != nullptr) != (p.store_text != nullptr) && !p.default_text.empty();
        case Kind::optional_text:
            return p.text != nullptr && p.default_text.empty() && !p.zero_means.empty();
        case Kind::choice:
            return p.text != nullptr &&
                   std::find(p.choices.begin(), p.choices.end(), p.default_text) != p.choices.end();
        case Kind::listener:
            return p.section == "listen";
        case Kind::list:
            // (item_check is not compared here: with UBSan, GCC does not fold a function's address.)
            return p.list != nullptr && p.items_max > 0;
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

}  // namespace vmx::config_table
