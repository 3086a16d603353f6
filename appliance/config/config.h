// The appliance configuration: vaultmx.toml parsed and validated once at start-up into one immutable
// Config; reload builds a new one. Parsing runs on the control thread; a finished Config is a plain
// value that any thread may read through a shared_ptr<const Config>. Every parameter, with its
// default, bounds and unit, is declared once in the table in config.cc; nothing here throws.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "appliance/config/next_hop.h"
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

// Limits and timings of the appliance's own parts, one row each in config.cc's table; the daemon
// hands each part its own (smtp::Limits, DeliveryOptions, AuthWorkerOptions, ...). Units are last in
// the names, as in the file.
struct AppLimits {
    // [engine], the appliance's part: a reply between shards that its receiver cannot take yet
    // (a full inbox) is sent again after 1 ms, doubling up to this.
    std::uint32_t reply_retry_max_ms = 1000;
    // [smtp]: the MX's sessions.
    std::uint32_t smtp_message_bytes_max = 10'240'000;  // announced in SIZE, enforced while reading
    std::uint32_t smtp_recipients_max = 1000;           // per message; more -> 452 4.5.3
    std::uint32_t smtp_errors_max = 20;                 // error replies before 421 and disconnect
    std::uint32_t smtp_hop_count_max = 50;              // Received: fields; more -> 554 5.4.6 (a mail loop)
    // [submission]: 465 and 587 (RFC 6409). Hourly limits are per user, 0: none; an organisation's
    // policy may set its own.
    std::uint32_t submission_message_bytes_max = 26'214'400;  // announced in SIZE (25 MiB, as large providers)
    std::uint32_t submission_recipients_max = 100;         // per message; more -> 452 4.5.3
    std::uint32_t submission_errors_max = 20;              // error replies before 421 and disconnect
    std::uint32_t submission_auth_failures_max = 3;        // failed AUTHs before 421 and disconnect
    std::uint32_t submission_messages_per_hour = 500;      // -> 450 4.7.1 at the end of the message
    std::uint32_t submission_recipients_per_hour = 2000;
    bool submission_hide_client_address = true;            // Received: without the client's address or EHLO
    // [pop3]
    std::uint32_t pop3_errors_max = 10;                 // protocol errors before the session is closed
    std::uint32_t pop3_auth_failures_max = 3;           // failed logins before the session is closed
    std::uint32_t pop3_messages_max = 100'000;          // a larger maildrop shows its first ones
    // [delivery]: local delivery's retries (Postfix's shape: minutes growing to an hour, 5 days).
    std::uint32_t delivery_retry_first_s = 300;         // first retry after a temporary failure, doubling...
    std::uint32_t delivery_retry_max_s = 3600;          // ...up to this
    std::uint32_t delivery_lifetime_s = 5 * 86400;      // then the recipient fails permanently
    std::uint32_t delivery_removal_batch_ms = 10;       // finished queue entries are removed together
    std::uint32_t delivery_marker_sweep_s = 60;         // how often stale delivery markers are removed
    std::uint32_t delivery_marker_sweep_max = 4096;     // markers looked at per lane task
    // [delivery]: outbound delivery (the agent of each shard).
    std::uint32_t delivery_mx_port = 25;                // port of hosts found by MX (benchmarks and tests move it)
    std::uint32_t delivery_connect_timeout_s = 30;
    std::uint32_t delivery_reply_timeout_s = 300;       // for any one reply, the final dot's included
    std::uint32_t delivery_session_timeout_s = 3600;    // one connection, however busy
    std::uint32_t delivery_connections_max = 100;       // outbound connections per shard
    std::uint32_t delivery_concurrency_initial = 2;     // connections to one destination at first...
    std::uint32_t delivery_concurrency_max = 20;        // ...growing with each delivered message up to this
    std::uint32_t delivery_messages_per_connection = 100;
    std::uint32_t delivery_dead_backoff_s = 60;         // a destination none of whose hosts answered rests
    std::uint32_t delivery_dns_cache_s = 300;           // MX plans and addresses are reused this long
    std::uint32_t delivery_reply_lines_max = 100;       // lines of one server reply
    std::uint32_t delivery_reply_line_bytes_max = 2048; // bytes of one server reply line
    std::uint32_t delivery_body_cache_mib = 64;         // queued bodies kept in memory per shard until sent
    std::uint32_t delivery_bounce_headers_bytes_max = 65536;  // of the failed message, quoted in its bounce
    // [auth]: the password workers, the login throttle and the verified-login cache.
    std::uint32_t auth_workers = 2;                     // threads that run Argon2id
    std::uint32_t auth_queue_max = 256;                 // checks waiting for a worker, all shards together
    std::uint32_t auth_throttle_window_s = 900;         // failures older than this are forgotten
    std::uint32_t auth_address_free_failures = 5;       // failures from one address before it is slowed
    std::uint32_t auth_address_refuse_failures = 30;    // past this the address is refused until the window ends
    std::uint32_t auth_user_free_failures = 10;         // failures on one user before it is slowed
    std::uint32_t auth_delay_base_ms = 500;             // first delay; doubles with each further failure
    std::uint32_t auth_delay_max_ms = 8000;
    std::uint32_t auth_throttle_entries_max = 100'000;  // per map (users, addresses)
    std::uint32_t auth_login_cache_ttl_s = 900;         // a verified secret skips Argon2id this long; 0: never
    std::uint32_t auth_login_cache_entries_max = 100'000;  // verified secrets remembered, all users together
    // [mailauth]: DKIM signing of submitted mail; SPF, DKIM and DMARC checks on the MX, run by their
    // own worker threads, each message's DNS bounded by a count and a time.
    bool mailauth_sign = true;                          // sign submitted mail for domains with a key
    bool mailauth_check_spf = true;                     // the MX's checks, each on or off
    bool mailauth_check_dkim = true;
    bool mailauth_check_dmarc = true;
    std::uint32_t mailauth_workers = 2;                 // threads that check and sign
    std::uint32_t mailauth_queue_max = 1024;            // messages waiting for a worker, all shards together
    std::uint32_t mailauth_dns_lookups_max = 40;        // DNS queries one message may cost, all checks together
    std::uint32_t mailauth_time_max_ms = 10'000;        // wall time one message's checks may take
    std::uint32_t mailauth_dns_timeout_ms = 2000;       // one DNS query's first try
    std::uint32_t mailauth_dkim_signatures_max = 5;     // signatures checked per message; the rest are ignored
    std::uint32_t mailauth_dkim_key_bits_min = 1024;    // RFC 8301: smaller RSA keys fail
    std::uint32_t mailauth_dkim_retire_days = 7;        // a rotated-out key stays published this long
    // [lifecycle]
    std::uint32_t backup_interval_h = 0;                 // [backup] schedule: a backup this often (0: none)
    std::uint32_t backup_keep = 7;                       // scheduled backups kept in [backup] dir
    std::uint32_t alarms_backup_age_h_max = 48;          // the newest scheduled backup older than this: alarm
    std::uint32_t lifecycle_closure_purge_days = 37;    // a closed account is purged this long after closing
    // [support]
    std::uint32_t portal_session_max_s = 28800;         // a portal session lives this long at most
    std::uint32_t portal_idle_s = 1800;                 // and ends after this long unused
    std::uint32_t portal_sessions_max = 10000;          // portal sessions held by the daemon, every user's
    std::uint32_t portal_workers = 4;                   // vaultmx-portal's threads that call the daemon
    std::uint32_t portal_body_bytes_max = 65536;        // a request body (a form) to the portal; past it: 413
    std::uint32_t portal_connections_max = 4096;        // browser connections open at once; past it: refused
    std::uint32_t portal_idle_timeout_s = 60;           // a browser connection quiet this long is closed
    std::uint32_t acme_renew_days = 30;                 // an ACME certificate is renewed this long before expiry
    std::uint32_t acme_check_interval_s = 3600;         // between looks at the certificates (and after a failed order)
    std::uint32_t acme_timeout_s = 30;                  // one HTTPS request to the CA
    std::uint32_t rados_timeout_s = 30;                 // one operation on the Ceph cluster (and connecting)
    std::uint32_t rados_lease_s = 30;                   // a dead node's POP3 maildrop locks run out after this
    std::uint32_t rados_readers = 8;                    // threads that read the cluster for the shards
    std::uint32_t rados_read_queue_max = 4096;          // reads waiting for one of them; past it: a temporary failure
    std::uint32_t support_reveal_window_s = 3600;       // a support reveal shows clear content this long at most
    // [log]: the sealed spool of events and its shipping to a collector.
    std::uint32_t log_retention_days = 400;             // events older than this leave the spool
    std::uint32_t log_spool_mib_max = 4096;             // the spool's size cap
    bool log_echo_stderr = false;                       // every event to stderr as well (foreground runs)
    // [alarms]: thresholds of the built-in alarm rules (appliance/ops/alarms.h); 0 fires on any.
    std::uint32_t alarms_commit_failures_max = 0;        // failed store commits in 5 minutes
    std::uint32_t alarms_delivery_failures_max = 100;    // outbound deferrals and bounces in 5 minutes
    std::uint32_t alarms_queue_max = 10'000;             // messages queued, inbound and outbound
    std::uint32_t alarms_disk_free_percent_min = 10;     // free space where the data lives
    std::uint32_t alarms_shipping_backlog_max = 100'000; // events not yet at the collector
    std::uint32_t alarms_login_failures_max = 200;       // failed logins in 5 minutes, every port
    std::uint32_t alarms_certificate_days_min = 14;      // days before the TLS certificate expires
    std::uint32_t alarms_mail_interval_s = 60;           // at most one alarm notice to mail_to per interval
    // [limits]: per client address on the MX (Postfix's anvil and postscreen), and bans of addresses
    // whose logins keep failing on every login port. 0 turns a rate or count off.
    std::uint32_t limits_client_connections_max = 20;       // open MX connections from one address
    std::uint32_t limits_client_connections_per_minute = 60;
    std::uint32_t limits_client_messages_per_minute = 120;  // MAIL from one address -> 450 4.7.1
    std::uint32_t limits_client_recipients_per_minute = 600;  // RCPT from one address -> 450 4.7.1
    std::uint32_t limits_greet_wait_ms = 1000;              // "220-" first; a client that talks before
                                                            // the "220 " line is refused (0: off)
    std::uint32_t limits_ban_failures = 10;                 // failed logins from one address...
    std::uint32_t limits_ban_window_s = 600;                // ...within this long ban it...
    std::uint32_t limits_ban_duration_s = 3600;             // ...for this long (kept across restarts)
    std::uint32_t limits_bans_max = 100'000;                // bans kept; the oldest go first
    std::uint32_t limits_clients_tracked_max = 100'000;     // addresses counted at once
    // [admin]: the admin socket.
    std::uint32_t admin_io_timeout_ms = 2000;           // for a peer to send its request and take its reply
    std::uint32_t admin_reply_timeout_ms = 30'000;      // for a command that waits on a shard
    std::uint32_t admin_connections_max = 64;           // peers served at once
    // [metrics]: the Prometheus endpoint's bounds on a scrape.
    std::uint32_t metrics_io_timeout_ms = 5000;         // for a scraper to send its request and take the reply
    std::uint32_t metrics_connections_max = 16;         // scrapes served at once
    std::uint32_t metrics_request_line_bytes_max = 1024;  // "GET /metrics HTTP/1.1": longer -> 414
    std::uint32_t metrics_head_bytes_max = 8192;        // request line and header fields: more -> 431
    std::uint32_t metrics_header_fields_max = 32;       // more -> 431
};

struct Config {
    EngineConfig engine;                    // [engine]; the *_s keys are stored here in milliseconds
    std::string data_dir;                   // [paths] data
    std::string backup_dir;                 // [backup] dir: where `vaultmx backup create` puts a backup
                                            // without --to, and what `backup list` lists
    std::string master_key_file;            // [keys] master_key_file
    std::string tls_cert;                   // [tls] cert
    std::string tls_key;                    // [tls] key
    std::string hostname;                   // [smtp] hostname: this server's name in SMTP greetings and Received:
    std::string postmaster;                 // [smtp] postmaster: the mailbox RCPT TO:<Postmaster> reaches;
                                            // empty: postmaster@ the hostname
    std::string service_user;               // [service] user and group the daemon runs as once its
    std::string service_group;              // ports and files are open (never root)
    std::vector<std::string> exempt_networks;  // [limits] exempt_networks: CIDRs that per-client
                                               // limits and bans never touch
    std::vector<ListenerConfig> listeners;  // [listen]: the keys present, in the order smtp,
                                            // submission_tls, submission, pop3s; addresses distinct
    std::string admin_socket;               // [admin] socket
    std::string metrics_listen;             // [metrics] listen, a valid host:port
    std::string portal_socket;              // [portal] socket: the daemon's user-scoped socket
    std::string portal_listen;              // [portal] listen: vaultmx-portal's HTTPS, host:port
    std::string portal_redirect_listen;     // [portal] redirect_listen: plain HTTP that redirects to it
    std::string portal_user;                // [portal] user: the account vaultmx-portal runs as
    std::string acme_directory;             // [acme] directory: the CA's directory URL; empty: no ACME
    std::string acme_email;                 // [acme] email: the account's contact; empty: none
    std::string acme_ca_file;               // [acme] ca_file: trust anchors for the CA; empty: the system's
    std::vector<std::string> acme_names;    // [acme] names: the appliance's certificate ([smtp] hostname first)
    std::vector<std::string> acme_domain_names;  // [acme] domain_names: per mail domain, "{domain}" replaced
    std::string log_dir;                    // [log] dir
    std::string log_level;                  // [log] level: debug, info, warn or error
    std::string log_ship_to;                // [log] ship_to: "host:port" of the RFC 5425 collector; empty: off
    std::string log_ship_ca;                // [log] ship_ca: trust anchors for it; empty: the system's
    std::string log_ship_cert;              // [log] ship_cert/ship_key: our client certificate; empty: none
    std::string log_ship_key;
    std::vector<std::string> alarm_rules;   // [alarms] rules: each parses (alarm_rule_text.h); the
                                            // daemon checks their families at start-up
    std::string alarms_mail_to;             // [alarms] mail_to: who is mailed when an alarm changes; empty: nobody
    crypto::Argon2Params argon2;            // [auth] argon2_memory_kib, argon2_iterations, argon2_parallelism
    std::string store_backend;              // [store] backend: "lmdb" (this box) or "rados" (shared by nodes)
    std::string rados_conf;                 // [rados] conf: the cluster's ceph.conf (backend = "rados")
    std::string rados_pool;                 // [rados] pool
    std::string rados_namespace;            // [rados] namespace: this appliance's objects; empty: the default
    store::StoreOptions store;              // [store]: segments (init only), kind paths (relative to
                                            // [paths] data unless absolute), map sizes in MiB
    AppLimits limits;                       // [smtp], [submission], [pop3], [delivery], [auth]: the parts' limits
    // [delivery]'s texts and tables (optional: empty when not set).
    std::string delivery_resolver;          // "IP:PORT" or several, comma-separated; empty: /etc/resolv.conf
    std::string delivery_relayhost;         // a next hop for everything not routed; empty: MX
    std::string delivery_relayhost_user;    // AUTH name at the relayhost (password: secret "relayhost")
    std::string delivery_relayhost_tls;     // the least TLS for that AUTH: verify or encrypt
    std::string delivery_tls;               // none, may, encrypt or verify
    std::string delivery_tls_ca_file;       // trust anchors for verify; empty: the system's CA store
    std::string mailauth_dmarc_reject;      // [mailauth] dmarc_reject: refuse (550 5.7.1) or mark
    std::string mailauth_authserv_id;       // [mailauth] authserv_id; empty: the [smtp] hostname
    std::map<std::string, NextHop> delivery_routes;             // [delivery.routes]: lower-case domain -> next hop
    std::map<std::string, std::string> delivery_tls_policies;   // [delivery.tls_policies]: domain -> level
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
