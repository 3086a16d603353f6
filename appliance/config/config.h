// The appliance configuration: vaultmx.toml parsed and validated once at start-up into one immutable
// Config; reload builds a new one. Parsing runs on the control thread; a finished Config is a plain
// value that any thread may read through a shared_ptr<const Config>. Every parameter, with its
// default, bounds and unit, is declared once in the table in config.cc; nothing here throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/engine_config.h"
#include "core/socket_address.h"
#include "crypto/password.h"
#include "store/options.h"

namespace vmx {

struct ListenerConfig {
    std::string name;          // the key under [listen]: "smtp", "submission_tls", "submission", "pop3s"
    SocketAddress address;     // parsed from address_text
    std::string address_text;  // as written in the file
};

struct Config {
    EngineConfig engine;                    // [engine]; the *_s keys are stored here in milliseconds
    std::string data_dir;                   // [paths] data
    std::string master_key_file;            // [keys] master_key_file
    std::string tls_cert;                   // [tls] cert
    std::string tls_key;                    // [tls] key
    std::string hostname;                   // [smtp] hostname: this server's name in SMTP greetings and Received:
    std::vector<ListenerConfig> listeners;  // [listen]: the keys present, in the order smtp,
                                            // submission_tls, submission, pop3s; addresses distinct
    std::string admin_socket;               // [admin] socket
    std::string metrics_listen;             // [metrics] listen, a valid host:port
    std::string log_dir;                    // [log] dir
    std::string log_level;                  // [log] level: debug, info, warn or error
    crypto::Argon2Params argon2;            // [auth] argon2_memory_kib, argon2_iterations, argon2_parallelism
    store::StoreOptions store;              // [store]: segments (init only), kind paths (relative to
                                            // [paths] data unless absolute), map sizes in MiB
    std::string source_path;                // the file (or source name) it was read from
};

// One line, "file:line: section.key: what is wrong" (no line when none is known).
struct ConfigError {
    std::string message;
};

// Reads and validates the file; a file that cannot be read, does not parse or holds an unknown or
// invalid parameter gives a ConfigError. Never throws.
std::variant<Config, ConfigError> load_config_file(const std::string& path);

// The same for text already in memory; source_name stands for the file in messages and source_path.
std::variant<Config, ConfigError> parse_config(std::string_view toml_text, std::string_view source_name);

// The effective value of every parameter, defaults included, one "section.key = value" line each;
// a parameter left unset on purpose (a listener, engine.shards) is a "# section.key is not set: ..."
// line. The output is valid TOML that parse_config turns back into the same Config. For
// --check-config.
std::string describe_config(const Config& config);

// For the command-line programs: the config, or nullopt after printing "program: message" on stderr.
std::optional<Config> load_config_or_report(std::string_view program, const std::string& path);

}  // namespace vmx
