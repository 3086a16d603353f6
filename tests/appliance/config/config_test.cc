// Tests of appliance/config: the example file, defaults, every kind of rejected input (each message
// one line naming the file, the line and the full key), and describe_config's output.
#include "appliance/config/config.h"
#include "appliance/config/alarm_rule_text.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace vmx {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.starts_with(prefix); }
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

constexpr std::string_view kExample = R"(# vaultmx example configuration
[engine]
shards = 8
connections_per_shard_max = 50000
ring_entries = 8192
recv_buffer_bytes = 32768
recv_buffers = 512
send_queue_bytes_max = 1048576
idle_timeout_s = 120
session_timeout_s = 1800
grace_period_s = 30
inbox_capacity = 8192
pin_threads = false

[paths]
data = "/var/lib/vaultmx"

[keys]
master_key_file = "/etc/vaultmx/master.key"

[tls]
cert = "/etc/vaultmx/tls/cert.pem"
key = "/etc/vaultmx/tls/key.pem"

[listen]
pop3s = "[::]:995"
smtp = "0.0.0.0:25"
submission = "0.0.0.0:587"
submission_tls = "0.0.0.0:465"

[admin]
socket = "/run/vaultmx/admin.sock"

[metrics]
listen = "127.0.0.1:9100"

[log]
dir = "/var/log/vaultmx"
level = "debug"
)";

// Every key of the contract, in the order describe_config prints them.
constexpr std::string_view kAllKeys[] = {
    "engine.shards",         "engine.connections_per_shard_max", "engine.ring_entries",
    "engine.recv_buffer_bytes", "engine.recv_buffers",           "engine.send_queue_bytes_max",
    "engine.idle_timeout_s", "engine.session_timeout_s",         "engine.grace_period_s",
    "engine.inbox_capacity", "engine.pin_threads",               "engine.reply_retry_max_ms", "paths.data",
    "keys.master_key_file",  "tls.cert",                         "tls.key",
    "smtp.hostname",
    "listen.smtp",           "listen.submission_tls",            "listen.submission",
    "listen.pop3s",          "admin.socket",                     "metrics.listen",
    "log.dir",               "log.level",                        "auth.argon2_memory_kib",
    "auth.argon2_iterations", "auth.argon2_parallelism",       "store.segments",
    "store.mail_path",       "store.temp_path",                  "store.smtp_in_path",
    "store.smtp_out_path",   "store.mail_map_mib",               "store.queue_map_mib",
    "store.temp_map_mib",    "store.global_map_mib",             "store.map_mib_max",
    "store.temp_ttl_s",      "store.trash_retention_days",       "store.sweep_interval_s",
    "store.delivery_batch_ms",    "store.login_history_days",    "store.lane_queue_capacity",
    "store.lane_batch_requests_max", "store.lane_batch_mib_max",
    "smtp.message_bytes_max", "smtp.recipients_max",              "smtp.errors_max",
    "submission.message_bytes_max", "submission.recipients_max", "submission.errors_max",
    "submission.auth_failures_max", "submission.messages_per_hour", "submission.recipients_per_hour",
    "submission.hide_client_address",
    "pop3.errors_max",       "pop3.auth_failures_max",           "pop3.messages_max",
    "delivery.retry_first_s", "delivery.retry_max_s",            "delivery.lifetime_s",
    "delivery.removal_batch_ms", "delivery.marker_sweep_s",
    "delivery.marker_sweep_max", "auth.workers",                 "auth.queue_max",
    "auth.throttle_window_s", "auth.address_free_failures",      "auth.address_refuse_failures",
    "auth.user_free_failures", "auth.delay_base_ms",             "auth.delay_max_ms",
    "auth.throttle_entries_max", "auth.login_cache_ttl_s",     "auth.login_cache_entries_max",
    "admin.io_timeout_s",    "admin.reply_timeout_s",            "admin.connections_max",
    "metrics.io_timeout_s",  "metrics.connections_max",          "metrics.request_line_bytes_max",
    "metrics.head_bytes_max", "metrics.header_fields_max",
};

Config parse_ok(std::string_view text) {
    auto result = parse_config(text, "vaultmx.toml");
    if (const auto* error = std::get_if<ConfigError>(&result)) {
        ADD_FAILURE() << "unexpected error: " << error->message;
        return {};
    }
    return std::get<Config>(std::move(result));
}

// The error message for text that must be rejected; it must be one line.
std::string parse_error(std::string_view text) {
    auto result = parse_config(text, "vaultmx.toml");
    const auto* error = std::get_if<ConfigError>(&result);
    if (error == nullptr) {
        ADD_FAILURE() << "accepted:\n" << text;
        return {};
    }
    EXPECT_EQ(error->message.find('\n'), std::string::npos) << error->message;
    EXPECT_FALSE(error->message.empty());
    return error->message;
}

std::string engine_with(std::string_view line) { return "[engine]\n" + std::string(line) + "\n"; }

TEST(ConfigTest, FullExampleParsesToItsValues) {
    const Config c = parse_ok(kExample);
    EXPECT_EQ(c.engine.shards, 8u);
    EXPECT_EQ(c.engine.connections_per_shard_max, 50000u);
    EXPECT_EQ(c.engine.ring_entries, 8192u);
    EXPECT_EQ(c.engine.recv_buffer_bytes, 32768u);
    EXPECT_EQ(c.engine.recv_buffers, 512u);
    EXPECT_EQ(c.engine.send_queue_bytes_max, 1048576u);
    EXPECT_EQ(c.engine.idle_timeout_ms, 120000u);
    EXPECT_EQ(c.engine.session_timeout_ms, 1800000u);
    EXPECT_EQ(c.engine.grace_period_ms, 30000u);
    EXPECT_EQ(c.engine.inbox_capacity, 8192u);
    EXPECT_FALSE(c.engine.pin_threads);
    EXPECT_EQ(c.data_dir, "/var/lib/vaultmx");
    EXPECT_EQ(c.master_key_file, "/etc/vaultmx/master.key");
    EXPECT_EQ(c.tls_cert, "/etc/vaultmx/tls/cert.pem");
    EXPECT_EQ(c.tls_key, "/etc/vaultmx/tls/key.pem");
    EXPECT_EQ(c.admin_socket, "/run/vaultmx/admin.sock");
    EXPECT_EQ(c.metrics_listen, "127.0.0.1:9100");
    EXPECT_EQ(c.log_dir, "/var/log/vaultmx");
    EXPECT_EQ(c.log_level, "debug");
    EXPECT_EQ(c.source_path, "vaultmx.toml");

    // The fixed order smtp, submission_tls, submission, pop3s, whatever the order in the file.
    ASSERT_EQ(c.listeners.size(), 4u);
    EXPECT_EQ(c.listeners[0].name, "smtp");
    EXPECT_EQ(c.listeners[0].address_text, "0.0.0.0:25");
    EXPECT_EQ(c.listeners[0].address.family(), AF_INET);
    EXPECT_EQ(c.listeners[0].address.port(), 25);
    EXPECT_EQ(c.listeners[1].name, "submission_tls");
    EXPECT_EQ(c.listeners[1].address.port(), 465);
    EXPECT_EQ(c.listeners[2].name, "submission");
    EXPECT_EQ(c.listeners[2].address.port(), 587);
    EXPECT_EQ(c.listeners[3].name, "pop3s");
    EXPECT_EQ(c.listeners[3].address.family(), AF_INET6);
    EXPECT_EQ(c.listeners[3].address.to_string(), "[::]:995");
}

TEST(ConfigTest, EmptyFileGivesEveryDefault) {
    const Config c = parse_ok("");
    const EngineConfig engine_defaults;
    EXPECT_EQ(c.engine.shards, 0u);  // one per online CPU
    EXPECT_EQ(c.engine.connections_per_shard_max, 16384u);
    EXPECT_EQ(c.engine.ring_entries, engine_defaults.ring_entries);
    EXPECT_EQ(c.engine.recv_buffer_bytes, engine_defaults.recv_buffer_bytes);
    EXPECT_EQ(c.engine.recv_buffers, engine_defaults.recv_buffers);
    EXPECT_EQ(c.engine.send_queue_bytes_max, engine_defaults.send_queue_bytes_max);
    EXPECT_EQ(c.engine.idle_timeout_ms, 300000u);
    EXPECT_EQ(c.engine.session_timeout_ms, 3600000u);
    EXPECT_EQ(c.engine.grace_period_ms, 10000u);
    EXPECT_EQ(c.engine.inbox_capacity, engine_defaults.inbox_capacity);
    EXPECT_TRUE(c.engine.pin_threads);
    EXPECT_EQ(c.data_dir, "var/data");
    EXPECT_EQ(c.master_key_file, "var/master.key");
    EXPECT_EQ(c.tls_cert, "var/tls/cert.pem");
    EXPECT_EQ(c.tls_key, "var/tls/key.pem");
    EXPECT_TRUE(c.listeners.empty());  // no key under [listen]: nothing is opened
    EXPECT_EQ(c.admin_socket, "var/run/admin.sock");
    EXPECT_EQ(c.metrics_listen, "127.0.0.1:9925");
    EXPECT_EQ(c.log_dir, "var/log");
    EXPECT_EQ(c.log_level, "info");
}

TEST(ConfigTest, KeysLeftOutKeepTheirDefaults) {
    const Config c = parse_ok("[engine]\nring_entries = 64\n\n[listen]\nsubmission = \"[::1]:587\"\n[log]\n");
    EXPECT_EQ(c.engine.ring_entries, 64u);
    EXPECT_EQ(c.engine.shards, 0u);
    EXPECT_EQ(c.engine.idle_timeout_ms, 300000u);
    EXPECT_EQ(c.log_level, "info");
    ASSERT_EQ(c.listeners.size(), 1u);
    EXPECT_EQ(c.listeners[0].name, "submission");
    EXPECT_EQ(c.listeners[0].address.to_string(), "[::1]:587");
}

TEST(ConfigTest, BoundsAreInclusiveAndSecondsBecomeMilliseconds) {
    const Config low = parse_ok(
        "[engine]\nshards = 1\nring_entries = 64\nrecv_buffers = 16\ninbox_capacity = 64\n"
        "grace_period_s = 0\nidle_timeout_s = 1\nrecv_buffer_bytes = 1024\nsend_queue_bytes_max = 4096\n");
    EXPECT_EQ(low.engine.shards, 1u);
    EXPECT_EQ(low.engine.grace_period_ms, 0u);
    EXPECT_EQ(low.engine.idle_timeout_ms, 1000u);
    const Config high = parse_ok(
        "[engine]\nshards = 1024\nring_entries = 32768\nrecv_buffers = 32768\ninbox_capacity = 1048576\n"
        "session_timeout_s = 604800\nidle_timeout_s = 86400\ngrace_period_s = 3600\n"
        "connections_per_shard_max = 1000000\nsend_queue_bytes_max = 67108864\nrecv_buffer_bytes = 1048576\n");
    EXPECT_EQ(high.engine.session_timeout_ms, 604800000u);
    EXPECT_EQ(high.engine.idle_timeout_ms, 86400000u);
    EXPECT_EQ(high.engine.grace_period_ms, 3600000u);
    EXPECT_EQ(high.engine.inbox_capacity, 1048576u);
}

TEST(ConfigTest, UnknownKeyIsNamedWithItsLine) {
    EXPECT_EQ(parse_error("[engine]\nshards = 4\nshardz = 4\n"), "vaultmx.toml:3: engine.shardz: unknown key");
    EXPECT_EQ(parse_error("engine.shards = 4\nengine.shardz = 4\n"), "vaultmx.toml:2: engine.shardz: unknown key");
    EXPECT_EQ(parse_error("[engine.extra]\nx = 1\n"), "vaultmx.toml:1: engine.extra: unknown key");
    EXPECT_EQ(parse_error("# top\nshards = 4\n"),
              "vaultmx.toml:2: shards: unknown key (keys belong under a [section])");
}

TEST(ConfigTest, UnknownSectionIsNamedWithItsLine) {
    EXPECT_EQ(parse_error("[engine]\nshards = 4\n\n[enigne]\nshards = 4\n"),
              "vaultmx.toml:4: enigne: unknown section");
    EXPECT_EQ(parse_error("[[engine]]\nshards = 4\n"),
              "vaultmx.toml:1: engine: expected a section ([engine]), got an array");
    EXPECT_EQ(parse_error("engine = 4\n"), "vaultmx.toml:1: engine: expected a section ([engine]), got an integer");
}

TEST(ConfigTest, WrongTypeNamesKeyLineAndType) {
    EXPECT_EQ(parse_error("[engine]\n\nshards = \"8\"\n"),
              "vaultmx.toml:3: engine.shards: expected an integer in 1..1024, got a string");
    EXPECT_EQ(parse_error(engine_with("shards = 4.0")),
              "vaultmx.toml:2: engine.shards: expected an integer in 1..1024, got a floating-point number");
    EXPECT_EQ(parse_error(engine_with("pin_threads = 1")),
              "vaultmx.toml:2: engine.pin_threads: expected true or false, got an integer");
    EXPECT_EQ(parse_error("[paths]\ndata = 5\n"), "vaultmx.toml:2: paths.data: expected a string, got an integer");
    EXPECT_EQ(parse_error("[listen]\nsmtp = [\"0.0.0.0:25\"]\n"),
              "vaultmx.toml:2: listen.smtp: expected a string, got an array");
    EXPECT_EQ(parse_error("[log]\nlevel = true\n"), "vaultmx.toml:2: log.level: expected a string, got a boolean");
}

TEST(ConfigTest, OutOfBoundsNamesKeyRangeAndValue) {
    EXPECT_EQ(parse_error(engine_with("shards = 0")),
              "vaultmx.toml:2: engine.shards: expected an integer in 1..1024, got 0");
    EXPECT_EQ(parse_error(engine_with("shards = 1025")),
              "vaultmx.toml:2: engine.shards: expected an integer in 1..1024, got 1025");
    EXPECT_EQ(parse_error(engine_with("grace_period_s = -1")),
              "vaultmx.toml:2: engine.grace_period_s: expected an integer in 0..3600, got -1");
    EXPECT_EQ(parse_error(engine_with("idle_timeout_s = 86401")),
              "vaultmx.toml:2: engine.idle_timeout_s: expected an integer in 1..86400, got 86401");
    EXPECT_EQ(parse_error(engine_with("session_timeout_s = 9223372036854775807")),
              "vaultmx.toml:2: engine.session_timeout_s: expected an integer in 1..604800, got 9223372036854775807");
    EXPECT_EQ(parse_error(engine_with("recv_buffer_bytes = 1023")),
              "vaultmx.toml:2: engine.recv_buffer_bytes: expected an integer in 1024..1048576, got 1023");
    EXPECT_EQ(parse_error(engine_with("connections_per_shard_max = 1000001")),
              "vaultmx.toml:2: engine.connections_per_shard_max: expected an integer in 1..1000000, got 1000001");
    EXPECT_EQ(parse_error(engine_with("send_queue_bytes_max = 4095")),
              "vaultmx.toml:2: engine.send_queue_bytes_max: expected an integer in 4096..67108864, got 4095");
}

TEST(ConfigTest, PowerOfTwoParametersRejectOtherValues) {
    EXPECT_EQ(parse_error(engine_with("ring_entries = 1000")),
              "vaultmx.toml:2: engine.ring_entries: expected a power of two in 64..32768, got 1000");
    EXPECT_EQ(parse_error(engine_with("recv_buffers = 48")),
              "vaultmx.toml:2: engine.recv_buffers: expected a power of two in 16..32768, got 48");
    EXPECT_EQ(parse_error(engine_with("inbox_capacity = 100")),
              "vaultmx.toml:2: engine.inbox_capacity: expected a power of two in 64..1048576, got 100");
    EXPECT_EQ(parse_error(engine_with("ring_entries = 65536")),  // a power of two, but too big
              "vaultmx.toml:2: engine.ring_entries: expected a power of two in 64..32768, got 65536");
}

TEST(ConfigTest, BadListenAddressIsRejected) {
    EXPECT_EQ(parse_error("[listen]\nsmtp = \"localhost:25\"\n"),
              "vaultmx.toml:2: listen.smtp: expected a numeric host:port or [v6]:port, got \"localhost:25\"");
    for (const char* bad : {"0.0.0.0", "0.0.0.0:99999", "[::1]25", "::1:25", "0.0.0.0:", ":25", "1.2.3:25"}) {
        const std::string text = std::string("[listen]\npop3s = \"") + bad + "\"\n";
        EXPECT_PRED2(starts_with, parse_error(text), "vaultmx.toml:2: listen.pop3s: expected a numeric host:port")
            << bad;
    }
    EXPECT_EQ(parse_error("[metrics]\nlisten = \"127.0.0.1\"\n"),
              "vaultmx.toml:2: metrics.listen: expected a numeric host:port or [v6]:port, got \"127.0.0.1\"");
}

TEST(ConfigTest, TwoListenersOnOneAddressAreAnError) {
    EXPECT_EQ(parse_error("[listen]\nsmtp = \"0.0.0.0:25\"\nsubmission = \"0.0.0.0:25\"\n"),
              "vaultmx.toml:3: listen.submission: address 0.0.0.0:25 is already used by listen.smtp");
    // Reported at the later line, whatever the table order; the same address spelled differently.
    EXPECT_EQ(parse_error("[listen]\npop3s = \"[::]:995\"\nsmtp = \"[0::0]:995\"\n"),
              "vaultmx.toml:3: listen.smtp: address [::]:995 is already used by listen.pop3s");
    // Three on one address: each later one is reported once, against the first.
    EXPECT_EQ(parse_error("[listen]\nsmtp = \"0.0.0.0:25\"\nsubmission = \"0.0.0.0:25\"\npop3s = \"0.0.0.0:25\"\n"),
              "vaultmx.toml:3: listen.submission: address 0.0.0.0:25 is already used by listen.smtp"
              " (and 1 more problem)");
    // The same port on different addresses is fine.
    EXPECT_EQ(parse_ok("[listen]\nsmtp = \"127.0.0.1:25\"\nsubmission = \"127.0.0.2:25\"\n").listeners.size(), 2u);
}

TEST(ConfigTest, StringsMustBeNonEmptyPrintableAndInTheirSet) {
    EXPECT_EQ(parse_error("[paths]\ndata = \"\"\n"), "vaultmx.toml:2: paths.data: expected a non-empty string");
    EXPECT_EQ(parse_error("[tls]\ncert = \"a\\nb\"\n"),
              "vaultmx.toml:2: tls.cert: expected a string without control characters, got \"a\\x0ab\"");
    EXPECT_EQ(parse_error("[keys]\nmaster_key_file = \"a\\u0000b\"\n"),
              "vaultmx.toml:2: keys.master_key_file: expected a string without control characters, got \"a\\x00b\"");
    EXPECT_EQ(parse_error("[log]\nlevel = \"verbose\"\n"),
              "vaultmx.toml:2: log.level: expected one of debug, info, warn, error, got \"verbose\"");
    for (const char* level : {"debug", "info", "warn", "error"})
        EXPECT_EQ(parse_ok(std::string("[log]\nlevel = \"") + level + "\"\n").log_level, level);
}

TEST(ConfigTest, Argon2ParametersAreReadAndCheckedTogether) {
    const Config c = parse_ok("[auth]\nargon2_memory_kib = 19456\nargon2_iterations = 2\nargon2_parallelism = 1\n");
    EXPECT_EQ(c.argon2.memory_kib, 19456u);
    EXPECT_EQ(c.argon2.iterations, 2u);
    EXPECT_EQ(c.argon2.parallelism, 1u);
    EXPECT_EQ(parse_ok("").argon2, crypto::Argon2Params{});
    EXPECT_EQ(parse_error("[auth]\nargon2_iterations = 0\n"),
              "vaultmx.toml:2: auth.argon2_iterations: expected an integer in 1..64, got 0");
    // Each value is within its own bounds, but 4 lanes need 32 KiB.
    EXPECT_EQ(parse_error("[auth]\nargon2_memory_kib = 16\nargon2_parallelism = 4\n"),
              "vaultmx.toml:2: auth.argon2_memory_kib: must be at least 8 KiB per lane "
              "(8 * auth.argon2_parallelism = 32), got 16");
}

TEST(ConfigTest, StoreParametersAreReadAndCheckedTogether) {
    const Config defaults = parse_ok("");
    EXPECT_EQ(defaults.store.sizing.segments, 16u);
    EXPECT_EQ(defaults.store.mail_path, "mail");  // relative: under [paths] data
    EXPECT_EQ(defaults.store.smtp_in_path, "smtp-in");
    EXPECT_EQ(defaults.store.sizing.mail_map_mib, 1024u);
    EXPECT_EQ(defaults.store.sizing.map_mib_max, 65536u);
    const Config c = parse_ok("[store]\nsegments = 64\nsmtp_in_path = \"/fast/in\"\nqueue_map_mib = 512\n"
                              "map_mib_max = 1024\nmail_map_mib = 1024\n");
    EXPECT_EQ(c.store.sizing.segments, 64u);
    EXPECT_EQ(c.store.smtp_in_path, "/fast/in");
    EXPECT_EQ(c.store.sizing.queue_map_mib, 512u);
    EXPECT_EQ(c.store.sizing.map_mib_max, 1024u);
    EXPECT_EQ(parse_error("[store]\nsegments = 4097\n"),
              "vaultmx.toml:2: store.segments: expected an integer in 1..4096, got 4097");
    EXPECT_EQ(parse_error("[store]\nmail_path = \"\"\n"),
              "vaultmx.toml:2: store.mail_path: expected a non-empty string");
    EXPECT_EQ(parse_error("[store]\nmap_mib_max = 512\n"),
              "vaultmx.toml:2: store.map_mib_max: must be at least the largest initial map size (1024 MiB), "
              "got 512");
}

// The limits that used to be constants: each a row with its default, bounds and unit.
TEST(ConfigTest, PartLimitsAreRowsWithDefaultsAndBounds) {
    const Config defaults = parse_ok("");
    const AppLimits built_in{};
    EXPECT_EQ(defaults.limits.smtp_message_bytes_max, built_in.smtp_message_bytes_max);
    EXPECT_EQ(defaults.limits.delivery_retry_first_s, 300u);
    EXPECT_EQ(defaults.limits.delivery_lifetime_s, 5u * 86400);
    EXPECT_EQ(defaults.limits.auth_workers, 2u);
    EXPECT_EQ(defaults.store.sizing.lane_queue_capacity, 4096u);

    const Config c = parse_ok(
        "[store]\nlane_queue_capacity = 1\n[smtp]\nmessage_bytes_max = 1048576\nrecipients_max = 5\n"
        "[delivery]\nretry_first_s = 1\nretry_max_s = 10\nmarker_sweep_s = 1\n[auth]\nworkers = 4\n"
        "[pop3]\nauth_failures_max = 2\n");
    EXPECT_EQ(c.store.sizing.lane_queue_capacity, 1u);
    EXPECT_EQ(c.limits.smtp_message_bytes_max, 1048576u);
    EXPECT_EQ(c.limits.smtp_recipients_max, 5u);
    EXPECT_EQ(c.limits.delivery_retry_first_s, 1u);
    EXPECT_EQ(c.limits.delivery_marker_sweep_s, 1u);
    EXPECT_EQ(c.limits.auth_workers, 4u);
    EXPECT_EQ(c.limits.pop3_auth_failures_max, 2u);

    EXPECT_EQ(parse_error("[store]\nlane_queue_capacity = 3\n"),
              "vaultmx.toml:2: store.lane_queue_capacity: expected a power of two in 1..1048576, got 3");
    EXPECT_EQ(parse_error("[store]\nlane_queue_capacity = 0\n"),
              "vaultmx.toml:2: store.lane_queue_capacity: expected a power of two in 1..1048576, got 0");
    EXPECT_EQ(parse_error("[smtp]\nmessage_bytes_max = 52428801\n"),
              "vaultmx.toml:2: smtp.message_bytes_max: expected an integer in 1024..52428800, got 52428801");
    EXPECT_EQ(parse_error("[auth]\nworkers = 0\n"), "vaultmx.toml:2: auth.workers: expected an integer in 1..256, got 0");
}

// 0 turns the verified-login cache off, and survives describe_config (it is a value, not "unset").
TEST(ConfigTest, LoginCacheRowsAllowZeroAndAreBounded) {
    const Config defaults = parse_ok("");
    EXPECT_EQ(defaults.limits.auth_login_cache_ttl_s, 900u);
    EXPECT_EQ(defaults.limits.auth_login_cache_entries_max, 100000u);
    const Config off = parse_ok("[auth]\nlogin_cache_ttl_s = 0\nlogin_cache_entries_max = 16\n");
    EXPECT_EQ(off.limits.auth_login_cache_ttl_s, 0u);
    EXPECT_EQ(off.limits.auth_login_cache_entries_max, 16u);
    EXPECT_EQ(parse_ok(describe_config(off)).limits.auth_login_cache_ttl_s, 0u);
    EXPECT_EQ(parse_error("[auth]\nlogin_cache_ttl_s = 3601\n"),
              "vaultmx.toml:2: auth.login_cache_ttl_s: expected an integer in 0..3600, got 3601");
    EXPECT_EQ(parse_error("[auth]\nlogin_cache_entries_max = 15\n"),
              "vaultmx.toml:2: auth.login_cache_entries_max: expected an integer in 16..10000000, got 15");
}

TEST(ConfigTest, AcmeIsOffByDefaultAndItsNamesAreChecked) {
    const Config defaults = parse_ok("");
    EXPECT_TRUE(defaults.acme_directory.empty());
    EXPECT_TRUE(defaults.acme_domain_names.empty());
    EXPECT_EQ(defaults.limits.acme_renew_days, 30u);
    const Config on = parse_ok("[acme]\ndirectory = \"https://ca.example/dir\"\nnames = [\"pop.example.net\"]\n"
                               "domain_names = [\"mail.{domain}\", \"{domain}\"]\nrenew_days = 60\n");
    EXPECT_EQ(on.acme_names, std::vector<std::string>{"pop.example.net"});
    EXPECT_EQ(on.acme_domain_names, (std::vector<std::string>{"mail.{domain}", "{domain}"}));
    EXPECT_EQ(parse_ok(describe_config(on)).acme_domain_names, on.acme_domain_names);
    for (const char* bad : {"mail", "mail example.net", "-x.example.net"})
        EXPECT_NE(parse_error(std::string("[acme]\nnames = [\"") + bad + "\"]\n"), "") << bad;
    for (const char* bad : {"mail.example.net", "{domain}.{domain}", "mail.{domain}/x", "{domains}"})
        EXPECT_NE(parse_error(std::string("[acme]\ndomain_names = [\"") + bad + "\"]\n"), "") << bad;
    EXPECT_NE(parse_error("[acme]\nrenew_days = 0\n"), "");
}

TEST(ConfigTest, FloorsMayNotExceedTheirCeilings) {
    EXPECT_EQ(parse_error("[delivery]\nretry_first_s = 7200\n"),
              "vaultmx.toml:2: delivery.retry_first_s: must not exceed delivery.retry_max_s (3600), got 7200");
    EXPECT_EQ(parse_error("[auth]\ndelay_base_ms = 9000\n"),
              "vaultmx.toml:2: auth.delay_base_ms: must not exceed auth.delay_max_ms (8000), got 9000");
    EXPECT_EQ(parse_error("[auth]\naddress_free_failures = 31\n"),
              "vaultmx.toml:2: auth.address_free_failures: must not exceed auth.address_refuse_failures (30), got 31");
}

TEST(ConfigTest, SyntaxErrorGivesTheLine) {
    const std::string message = parse_error("[engine]\nshards = 4\nring_entries = = 64\n");
    EXPECT_PRED2(starts_with, message, "vaultmx.toml:3: syntax error: ");
    EXPECT_PRED2(starts_with, parse_error("[engine]\nshards = 4\nshards = 5\n"), "vaultmx.toml:3: syntax error: ");
    EXPECT_PRED2(starts_with, parse_error("[engine\n"), "vaultmx.toml:1: syntax error: ");
}

TEST(ConfigTest, ControlCharactersInNamesStayOnOneLine) {
    EXPECT_EQ(parse_error("[engine]\n\"sha\\nrds\" = 4\n"), "vaultmx.toml:2: engine.sha\\x0ards: unknown key");
    EXPECT_EQ(parse_error("[\"a\\u0001\"]\n"), "vaultmx.toml:1: a\\x01: unknown section");
}

TEST(ConfigTest, EarliestProblemIsReportedWithACountOfTheRest) {
    EXPECT_EQ(parse_error("[log]\nlevel = \"loud\"\n[engine]\nshards = 0\nring_entries = 3\n"),
              "vaultmx.toml:2: log.level: expected one of debug, info, warn, error, got \"loud\""
              " (and 2 more problems)");
    EXPECT_EQ(parse_error("[zzz]\n[engine]\nshards = 0\n"),
              "vaultmx.toml:1: zzz: unknown section (and 1 more problem)");
}

class ConfigFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / ("vmx_config_test." + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    std::string write(std::string_view name, std::string_view text) {
        const std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    std::filesystem::path dir_;
};

TEST_F(ConfigFileTest, LoadsAFile) {
    const std::string path = write("vaultmx.toml", kExample);
    auto result = load_config_file(path);
    ASSERT_TRUE(std::holds_alternative<Config>(result)) << std::get<ConfigError>(result).message;
    const Config& c = std::get<Config>(result);
    EXPECT_EQ(c.source_path, path);
    EXPECT_EQ(c.engine.shards, 8u);
    EXPECT_EQ(c.listeners.size(), 4u);
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
    const std::string path = write("bad.toml", "[engine]\nshards = 2000\n");
    auto result = load_config_file(path);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
    EXPECT_EQ(std::get<ConfigError>(result).message,
              path + ":2: engine.shards: expected an integer in 1..1024, got 2000");
}

TEST_F(ConfigFileTest, MissingFileOrDirectoryCannotBeRead) {
    const std::string missing = (dir_ / "absent.toml").string();
    auto result = load_config_file(missing);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
    EXPECT_EQ(std::get<ConfigError>(result).message, missing + ": cannot read: No such file or directory");

    auto directory = load_config_file(dir_.string());
    ASSERT_TRUE(std::holds_alternative<ConfigError>(directory));
    EXPECT_EQ(std::get<ConfigError>(directory).message, dir_.string() + ": cannot read: Is a directory");
}

TEST_F(ConfigFileTest, OversizedFileIsRefused) {
    const std::string path = write("huge.toml", std::string(2 << 20, '#'));
    auto result = load_config_file(path);
    ASSERT_TRUE(std::holds_alternative<ConfigError>(result));
    EXPECT_PRED2(starts_with, std::get<ConfigError>(result).message, path + ": larger than 1048576 bytes");
}

TEST(ConfigDescribeTest, NamesEveryKeyOnItsOwnLine) {
    const std::string defaults = describe_config(parse_ok(""));
    for (const std::string_view key : kAllKeys) {
        const bool set = defaults.find("\n" + std::string(key) + " = ") != std::string::npos;
        const bool unset = defaults.find("\n# " + std::string(key) + " is not set: ") != std::string::npos;
        EXPECT_TRUE(set || unset) << key << " missing from:\n" << defaults;
    }
    EXPECT_PRED2(starts_with, defaults, "# vaultmx effective configuration, from vaultmx.toml\n");
    EXPECT_PRED2(contains, defaults, "\n# engine.shards is not set: one per online CPU\n");
    EXPECT_PRED2(contains, defaults, "\nengine.connections_per_shard_max = 16384\n");
    EXPECT_PRED2(contains, defaults, "\nengine.recv_buffer_bytes = 16384  # bytes\n");
    EXPECT_PRED2(contains, defaults, "\nengine.idle_timeout_s = 300  # seconds\n");
    EXPECT_PRED2(contains, defaults, "\nengine.session_timeout_s = 3600  # seconds\n");
    EXPECT_PRED2(contains, defaults, "\nengine.grace_period_s = 10  # seconds\n");
    EXPECT_PRED2(contains, defaults, "\nengine.pin_threads = true\n");
    EXPECT_PRED2(contains, defaults, "\nsubmission.hide_client_address = true\n");
    EXPECT_PRED2(contains, defaults, "\nsubmission.messages_per_hour = 500\n");
    EXPECT_PRED2(contains, defaults, "\npaths.data = \"var/data\"\n");
    EXPECT_PRED2(contains, defaults, "\n# listen.smtp is not set: that listener is not opened\n");
    EXPECT_PRED2(contains, defaults, "\nmetrics.listen = \"127.0.0.1:9925\"\n");
    EXPECT_PRED2(contains, defaults, "\nlog.level = \"info\"\n");

    const std::string example = describe_config(parse_ok(kExample));
    for (const std::string_view key : kAllKeys)
        EXPECT_PRED2(contains, example, "\n" + std::string(key) + " = ") << key;
    EXPECT_PRED2(contains, example, "\nengine.shards = 8\n");
    EXPECT_PRED2(contains, example, "\nengine.idle_timeout_s = 120  # seconds\n");
    EXPECT_PRED2(contains, example, "\nlisten.pop3s = \"[::]:995\"\n");
}

TEST(ConfigDescribeTest, OutputParsesBackToTheSameConfig) {
    for (const std::string_view text : {kExample, std::string_view("")}) {
        const std::string described = describe_config(parse_ok(text));
        const Config again = parse_ok(described);
        EXPECT_EQ(describe_config(again), described);
    }
    // Quotes and backslashes survive the trip.
    const Config odd = parse_ok("[paths]\ndata = 'C:\\mail \"x\"'\n");
    EXPECT_EQ(parse_ok(describe_config(odd)).data_dir, "C:\\mail \"x\"");
}

// [submission]: its limits and the privacy flag of its Received: header, a flag in AppLimits.
TEST(Config, SubmissionSection) {
    const Config defaults = parse_ok("");
    EXPECT_TRUE(defaults.limits.submission_hide_client_address);
    EXPECT_EQ(defaults.limits.submission_recipients_max, 100u);
    const Config c = parse_ok("[submission]\nhide_client_address = false\nmessages_per_hour = 0\n"
                              "recipients_per_hour = 50\nauth_failures_max = 5\n");
    EXPECT_FALSE(c.limits.submission_hide_client_address);
    EXPECT_EQ(c.limits.submission_messages_per_hour, 0u);
    EXPECT_EQ(c.limits.submission_recipients_per_hour, 50u);
    EXPECT_EQ(c.limits.submission_auth_failures_max, 5u);
    EXPECT_EQ(parse_error("[submission]\nhide_client_address = \"no\"\n"),
              "vaultmx.toml:2: submission.hide_client_address: expected true or false, got a string");
    EXPECT_PRED2(contains, parse_error("[submission]\nauth_failures_max = 0\n"), "submission.auth_failures_max");
    EXPECT_FALSE(parse_ok(describe_config(c)).limits.submission_hide_client_address);
}

TEST(Config, DeliverySection) {
    const Config defaults = parse_ok("");
    EXPECT_TRUE(defaults.delivery_resolver.empty());
    EXPECT_TRUE(defaults.delivery_relayhost.empty());
    EXPECT_EQ(defaults.delivery_tls, "may");
    EXPECT_EQ(defaults.limits.delivery_mx_port, 25u);
    EXPECT_TRUE(defaults.delivery_routes.empty());
    const Config c = parse_ok(
        "[delivery]\nresolver = \"127.0.0.1:5353, [::1]:53\"\nrelayhost = \"[smtp.isp.example]:587\"\n"
        "relayhost_user = \"gateway\"\ntls = \"encrypt\"\nconcurrency_max = 50\n"
        "[delivery.routes]\n\"Partner.Example\" = \"10.0.0.5:2525\"\n\"v6.example\" = \"[2001:db8::1]\"\n"
        "[delivery.tls_policies]\n\"bank.example\" = \"verify\"\n");
    EXPECT_EQ(c.delivery_resolver, "127.0.0.1:5353, [::1]:53");
    EXPECT_EQ(c.delivery_relayhost, "[smtp.isp.example]:587");
    EXPECT_EQ(c.delivery_relayhost_user, "gateway");
    EXPECT_EQ(c.delivery_tls, "encrypt");
    EXPECT_EQ(c.limits.delivery_concurrency_max, 50u);
    ASSERT_EQ(c.delivery_routes.size(), 2u);
    EXPECT_EQ(c.delivery_routes.at("partner.example"), (NextHop{"10.0.0.5", 2525}));
    EXPECT_EQ(c.delivery_routes.at("v6.example"), (NextHop{"2001:db8::1", 25}));
    EXPECT_EQ(c.delivery_tls_policies.at("bank.example"), "verify");
    // What describe_config writes parses back into the same tables.
    const Config again = parse_ok(describe_config(c));
    EXPECT_EQ(again.delivery_routes, c.delivery_routes);
    EXPECT_EQ(again.delivery_tls_policies, c.delivery_tls_policies);
    EXPECT_EQ(again.delivery_relayhost, c.delivery_relayhost);
    EXPECT_TRUE(parse_ok(describe_config(defaults)).delivery_relayhost.empty());

    EXPECT_PRED2(contains, parse_error("[delivery]\nresolver = \"dns.example\"\n"), "delivery.resolver: expected IP:PORT");
    EXPECT_PRED2(contains, parse_error("[delivery]\nrelayhost = \"host:99999\"\n"), "delivery.relayhost");
    EXPECT_PRED2(contains, parse_error("[delivery]\ntls = \"maybe\"\n"), "expected one of none, may, encrypt, verify");
    EXPECT_PRED2(contains, parse_error("[delivery.routes]\n\"not a domain\" = \"h:25\"\n"), "expected a domain");
    EXPECT_PRED2(contains, parse_error("[delivery.routes]\n\"a.example\" = 25\n"), "expected a string");
    EXPECT_PRED2(contains, parse_error("[delivery.routes]\n\"a.example\" = \"::1:25\"\n"), "expected host");
    EXPECT_PRED2(contains, parse_error("[delivery.tls_policies]\n\"a.example\" = \"strict\"\n"), "expected one of");
    EXPECT_PRED2(contains, parse_error("[delivery]\nroutes = \"x\"\n"), "expected a table");
}

TEST(Config, HardeningRows) {
    const Config defaults = parse_ok("");
    EXPECT_EQ(defaults.service_user, "vaultmx");
    EXPECT_EQ(defaults.service_group, "vaultmx");
    EXPECT_TRUE(defaults.postmaster.empty());
    EXPECT_TRUE(defaults.exempt_networks.empty());
    EXPECT_EQ(defaults.limits.smtp_hop_count_max, 50u);
    EXPECT_EQ(defaults.limits.limits_client_connections_max, 20u);
    const Config c = parse_ok(
        "[service]\nuser = \"mail\"\ngroup = \"mail\"\n[smtp]\npostmaster = \"pm@example.org\"\nhop_count_max = 30\n"
        "[limits]\nexempt_networks = [\"192.0.2.0/24\", \"2001:db8::/32\", \"127.0.0.1\"]\nban_failures = 0\n");
    EXPECT_EQ(c.service_user, "mail");
    EXPECT_EQ(c.postmaster, "pm@example.org");
    EXPECT_EQ(c.limits.smtp_hop_count_max, 30u);
    EXPECT_EQ(c.exempt_networks, (std::vector<std::string>{"192.0.2.0/24", "2001:db8::/32", "127.0.0.1"}));
    EXPECT_EQ(c.limits.limits_ban_failures, 0u);
    const Config again = parse_ok(describe_config(c));
    EXPECT_EQ(again.exempt_networks, c.exempt_networks);
    EXPECT_EQ(parse_ok(describe_config(defaults)).exempt_networks, defaults.exempt_networks);
    EXPECT_EQ(parse_error("[limits]\nexempt_networks = [\"10.0.0.1/8\"]\n"),
              "vaultmx.toml:2: limits.exempt_networks: expected a network (\"192.0.2.0/24\", \"2001:db8::/32\" or an "
              "address), got \"10.0.0.1/8\": not an address, or a prefix with host bits set");
    EXPECT_NE(parse_error("[limits]\nexempt_networks = \"10.0.0.0/8\"\n").find("expected an array"), std::string::npos);
    EXPECT_NE(parse_error("[limits]\nexempt_networks = [8]\n").find("got an integer"), std::string::npos);
    EXPECT_NE(parse_error("[smtp]\npostmaster = \"nobody\"\n").find("smtp.postmaster: expected an address"),
              std::string::npos);
}

TEST(Config, AlarmRowsParseTheirRulesAndTheMailAddress) {
    const Config defaults = parse_ok("");
    EXPECT_TRUE(defaults.alarm_rules.empty());
    EXPECT_TRUE(defaults.alarms_mail_to.empty());
    const Config c = parse_ok(
        "[alarms]\nmail_to = \"ops@example.org\"\nrules = [\n"
        "  \"queue_high: vaultmx_queue_messages{queue=\\\"outbound\\\"} > 500\",\n"
        "  \"pop3_failures: increase(vaultmx_login_failures_total{protocol=\\\"pop3\\\"}[10m]) > 50\",\n"
        "]\n");
    ASSERT_EQ(c.alarm_rules.size(), 2u);
    EXPECT_EQ(c.alarm_rules[0], "queue_high: vaultmx_queue_messages{queue=\"outbound\"} > 500");
    EXPECT_EQ(c.alarms_mail_to, "ops@example.org");
    const Config again = parse_ok(describe_config(c));
    EXPECT_EQ(again.alarm_rules, c.alarm_rules);
    EXPECT_EQ(again.alarms_mail_to, c.alarms_mail_to);
    EXPECT_EQ(parse_error("[alarms]\nrules = [\"x: vaultmx_queue_messages >> 1\"]\n"),
              "vaultmx.toml:2: alarms.rules: expected a rule such as \"queue_high: vaultmx_queue_messages > 500\", got "
              "\"x: vaultmx_queue_messages >> 1\": expected a number (0 or more) at column 28, got '>'");
    EXPECT_NE(parse_error("[alarms]\nrules = [\"a: f > 1\", \"a: g < 2\"]\n").find("rule name a is used twice"),
              std::string::npos);
    EXPECT_NE(parse_error("[alarms]\nrules = \"a: f > 1\"\n").find("expected an array"), std::string::npos);
    std::string many = "[alarms]\nrules = [";
    for (std::size_t i = 0; i <= alarm_rules_max; ++i) many += "\"r" + std::to_string(i) + ": f > 1\",";
    EXPECT_NE(parse_error(many + "]\n").find("at most 64 items"), std::string::npos);
    EXPECT_NE(parse_error("[alarms]\nmail_to = \"ops\"\n").find("alarms.mail_to: expected an address"), std::string::npos);
}

TEST(NextHop, Parses) {
    EXPECT_EQ(parse_next_hop("mx.example"), (NextHop{"mx.example", 25}));
    EXPECT_EQ(parse_next_hop("MX.Example:2525"), (NextHop{"mx.example", 2525}));
    EXPECT_EQ(parse_next_hop("[mx.example]:587"), (NextHop{"mx.example", 587}));
    EXPECT_EQ(parse_next_hop("[2001:db8::1]:25"), (NextHop{"2001:db8::1", 25}));
    EXPECT_EQ(parse_next_hop("192.0.2.1"), (NextHop{"192.0.2.1", 25}));
    EXPECT_EQ(parse_next_hop("host", 587), (NextHop{"host", 587}));
    for (const char* bad : {"", ":25", "host:", "host:0", "host:65536", "host:2x", "[host", "[host]x", "::1",
                            "2001:db8::1:25", "bad_host:25", "[]:25", "a b"})
        EXPECT_FALSE(parse_next_hop(bad).has_value()) << bad;
    EXPECT_EQ(NextHop({"2001:db8::1", 25}).to_string(), "[2001:db8::1]:25");
    EXPECT_EQ(NextHop({"mx.example", 2525}).to_string(), "mx.example:2525");
}

}  // namespace
}  // namespace vmx
