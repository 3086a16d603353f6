// vaultmx-bench smtp / pop3 / mixed / sink: argument checks, input files, the run, the report.
#include "benchmarks/mail/mail_commands.h"

#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "benchmarks/mail/load_report.h"
#include "benchmarks/mail/load_run.h"
#include "benchmarks/mail/smtp_sink.h"
#include "core/engine.h"

namespace vmx::bench {

namespace {
constexpr std::size_t input_lines_max = 1'000'000;
constexpr std::size_t input_line_bytes_max = 1024;
constexpr std::size_t address_bytes_max = 254;   // RFC 5321's path limit less the brackets
constexpr double rate_per_s_min = 0.01;
constexpr double rate_per_s_max = 1'000'000;
}  // namespace

struct MailCommands {
    CLI::App* smtp = nullptr;
    CLI::App* pop3 = nullptr;
    CLI::App* mixed = nullptr;
    CLI::App* sink = nullptr;

    // Shared by the load commands (each command binds its own subset).
    std::string target, smtp_target, pop3_target;
    std::uint32_t connections = 10;
    std::uint64_t messages = 0;
    std::uint64_t sessions = 0;
    double duration_s = 0;
    std::string size = "10k";
    std::string size_dist_file;
    std::string from = "loadgen@vaultmx-bench.invalid";
    std::vector<std::string> rcpts;
    std::string rcpt_file;
    std::uint32_t rcpts_per_msg = 1;
    std::uint32_t msgs_per_conn = 10;
    bool starttls = false, tls = false, pop3_tls = false;
    std::string auth;
    bool pipelining = false;
    std::string helo = "loadgen.vaultmx-bench.invalid";
    std::string server_name;
    std::string users_file;
    bool dele = false;
    std::string ratio = "4:1";
    std::string ack_log;
    double rate_per_s = 0;
    RunLimits limits;
    bool json = false;

    // sink
    std::string listen;
    std::string tls_cert, tls_key;
    std::uint32_t shards = 0;
};

namespace {

// An argument problem found after CLI11's parse (a file, an address, a combination): thrown like
// CLI11's own errors and caught in run_mail_command(). Only here, on the main thread, before any
// ring or load thread exists; the load itself reports errors as values and counts.
struct UsageError {
    std::string text;
};

// ------------------------------------------------------------------ definitions

void add_limits(CLI::App* cmd, MailCommands& m) {
    cmd->add_option("--connections", m.connections, "concurrent connections")->check(CLI::Range(1, 10000))->capture_default_str();
    cmd->add_option("--threads", m.limits.threads, "load threads, each with its own io_uring")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd->add_option("--timeout-s", m.limits.timeout_s, "a session silent this long fails with \"timeout\"")
        ->check(CLI::Range(1.0, 600.0))
        ->capture_default_str();
    cmd->add_option("--time-limit-s", m.limits.time_limit_s, "hard bound on the whole run")
        ->check(CLI::Range(1.0, 86400.0))
        ->capture_default_str();
    cmd->add_flag("--json", m.json, "print the figures as one JSON object");
}

// `--NAME N` (count) or `--duration S`, one of the two; run_parsed() says so when neither is given.
void add_count_or_duration(CLI::App* cmd, const char* name, std::uint64_t& count, const char* what, MailCommands& m) {
    auto* by_count = cmd->add_option(name, count, what)->check(CLI::Range(1, 100000000));
    auto* by_time = cmd->add_option("--duration", m.duration_s, "seconds to keep starting new work")
                        ->check(CLI::Range(0.1, 86400.0))
                        ->excludes(by_count);
    by_count->excludes(by_time);
}

void add_smtp_message_options(CLI::App* cmd, MailCommands& m) {
    auto* size = cmd->add_option("--size", m.size, "message size: bytes, or with k / m (units of 1024)")->capture_default_str();
    cmd->add_option("--size-dist", m.size_dist_file, "file of \"SIZE WEIGHT\" lines")->excludes(size);
    cmd->add_option("--from", m.from, "envelope sender")->capture_default_str();
    auto* rcpt = cmd->add_option("--rcpt", m.rcpts, "recipient (repeat for more; used round-robin)");
    cmd->add_option("--rcpt-file", m.rcpt_file, "file with one recipient a line")->excludes(rcpt);
    cmd->add_option("--rcpts-per-msg", m.rcpts_per_msg, "recipients per message")->check(CLI::Range(1, 1000))->capture_default_str();
    cmd->add_option("--msgs-per-conn", m.msgs_per_conn, "transactions per connection before QUIT")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    cmd->add_flag("--pipelining", m.pipelining, "send MAIL, RCPT and DATA as one group (RFC 2920)");
    cmd->add_option("--helo", m.helo, "EHLO name")->capture_default_str();
    cmd->add_option("--ack-log", m.ack_log, "write \"<message-id> rcpt[,rcpt]\" for each acknowledged message");
}

// A rate in messages per second, decimals allowed. Not CLI::Range: it lets "nan" through.
std::string check_rate(std::string& text) {
    double rate = 0;
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, rate);
    if (error != std::errc{} || stop != end || !(rate >= rate_per_s_min && rate <= rate_per_s_max))
        return fmt::format("\"{}\" is not a rate of {} to {} messages per second", text, rate_per_s_min, rate_per_s_max);
    return {};
}

CLI::App* define_smtp(CLI::App& app, MailCommands& m) {
    CLI::App* cmd = app.add_subcommand("smtp", "SMTP load: messages acknowledged per second, latency per step");
    cmd->add_option("--target", m.target, "server HOST:PORT")->required();
    add_count_or_duration(cmd, "--messages", m.messages, "messages to send in all", m);
    add_smtp_message_options(cmd, m);
    auto* starttls = cmd->add_flag("--starttls", m.starttls, "STARTTLS after EHLO (RFC 3207)");
    cmd->add_flag("--tls", m.tls, "TLS from the first byte (submission on 465)")->excludes(starttls);
    cmd->add_option("--auth", m.auth, "USER:PASS for AUTH PLAIN (needs TLS)");
    cmd->add_option("--server-name", m.server_name, "TLS server name (SNI)");
    cmd->add_option("--rate", m.rate_per_s,
                    "open loop: start messages on a fixed schedule, N per second in all (sessions with "
                    "--msgs-per-conn 1, else each MAIL)")
        ->check(CLI::Validator(check_rate, "RATE"));
    add_limits(cmd, m);
    return cmd;
}

CLI::App* define_pop3(CLI::App& app, MailCommands& m) {
    CLI::App* cmd = app.add_subcommand("pop3", "POP3 load: log in, STAT, UIDL, RETR every message, QUIT");
    cmd->add_option("--target", m.target, "server HOST:PORT")->required();
    cmd->add_flag("--tls", m.pop3_tls, "TLS from the first byte (POP3S, 995)");
    cmd->add_option("--users", m.users_file, "file of \"address password\" lines")->required();
    add_count_or_duration(cmd, "--sessions", m.sessions, "sessions to run in all", m);
    cmd->add_flag("--dele", m.dele, "DELE each message after its RETR");
    cmd->add_option("--server-name", m.server_name, "TLS server name (SNI)");
    add_limits(cmd, m);
    return cmd;
}

CLI::App* define_mixed(CLI::App& app, MailCommands& m) {
    CLI::App* cmd = app.add_subcommand("mixed", "inbound SMTP and POP3 polling together, connections split by --ratio");
    cmd->add_option("--smtp-target", m.smtp_target, "SMTP server HOST:PORT")->required();
    cmd->add_option("--pop3-target", m.pop3_target, "POP3 server HOST:PORT")->required();
    cmd->add_option("--ratio", m.ratio, "SMTP:POP3 connections")->capture_default_str();
    cmd->add_option("--duration", m.duration_s, "seconds to keep starting work")->check(CLI::Range(0.1, 86400.0))->required();
    add_smtp_message_options(cmd, m);
    cmd->add_flag("--starttls", m.starttls, "STARTTLS on the SMTP connections");
    cmd->add_flag("--pop3-tls", m.pop3_tls, "TLS from the first byte on the POP3 connections");
    cmd->add_option("--users", m.users_file, "file of \"address password\" lines for POP3")->required();
    cmd->add_flag("--dele", m.dele, "DELE each message after its RETR");
    cmd->add_option("--server-name", m.server_name, "TLS server name (SNI)");
    add_limits(cmd, m);
    return cmd;
}

CLI::App* define_sink(CLI::App& app, MailCommands& m) {
    CLI::App* cmd = app.add_subcommand("sink", "a discard SMTP server: the load generator's ceiling");
    cmd->add_option("--listen", m.listen, "HOST:PORT to listen on")->required();
    auto* cert = cmd->add_option("--tls-cert", m.tls_cert, "PEM certificate: offer STARTTLS");
    auto* key = cmd->add_option("--tls-key", m.tls_key, "PEM private key of --tls-cert");
    cert->needs(key);
    key->needs(cert);
    cmd->add_option("--shards", m.shards, "engine threads (0: one per CPU)")->check(CLI::Range(0, 1024));
    cmd->add_option("--duration", m.duration_s, "stop after this many seconds (0: at SIGTERM or SIGINT)")
        ->check(CLI::Range(0.0, 86400.0));
    return cmd;
}

// ------------------------------------------------------------------ inputs

// Lines of a small text file, without comments ('#') and blank lines.
std::vector<std::string> read_lines(const std::string& path, const char* what) {
    std::ifstream in(path);
    if (!in) throw UsageError{fmt::format("{} {}: cannot be read", what, path)};
    std::vector<std::string> lines;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.size() > input_line_bytes_max)
            throw UsageError{fmt::format("{} {} line {}: longer than {} bytes", what, path, number, input_line_bytes_max)};
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const std::size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        if (lines.size() == input_lines_max) throw UsageError{fmt::format("{} {}: more than {} lines", what, path, input_lines_max)};
        lines.push_back(line.substr(first, line.find_last_not_of(" \t") + 1 - first));
    }
    if (lines.empty()) throw UsageError{fmt::format("{} {}: no entries", what, path)};
    return lines;
}

// An address as it goes between angle brackets: local@domain, no spaces, brackets or controls.
void check_address(const std::string& address, const char* what) {
    const bool shaped = !address.empty() && address.size() <= address_bytes_max && address.find('@') != std::string::npos &&
                        address.front() != '@' && address.back() != '@';
    bool clean = true;
    for (const char c : address) clean = clean && static_cast<unsigned char>(c) > 0x20 && c != '<' && c != '>' && c != 0x7f;
    if (!shaped || !clean) throw UsageError{fmt::format("{} \"{}\" is not an address (local@domain)", what, address)};
}

LoadTarget parse_target(const std::string& text, TlsStart tls, const std::string& server_name, const char* option) {
    auto address = parse_socket_address(text);
    if (!address) throw UsageError{fmt::format("{} \"{}\": expected HOST:PORT with a numeric address", option, text)};
    return LoadTarget{*address, tls, server_name};
}

std::vector<SizeWeight> sizes_of(const MailCommands& m) {
    if (m.size_dist_file.empty()) {
        auto size = parse_size(m.size);
        if (!size) throw UsageError{fmt::format("--size \"{}\": expected {}..{} bytes, e.g. 10k", m.size, message_bytes_min, message_bytes_max)};
        return {{*size, 1}};
    }
    std::ifstream in(m.size_dist_file);
    if (!in) throw UsageError{fmt::format("--size-dist {}: cannot be read", m.size_dist_file)};
    std::stringstream text;
    text << in.rdbuf();
    std::string error;
    auto sizes = parse_size_dist(text.str(), error);
    if (!sizes) throw UsageError{fmt::format("--size-dist {}: {}", m.size_dist_file, error)};
    return *sizes;
}

SmtpScenario smtp_scenario(const MailCommands& m, const std::string& target, std::uint32_t connections) {
    SmtpScenario s;
    s.target = parse_target(target, m.tls ? TlsStart::implicit : m.starttls ? TlsStart::starttls : TlsStart::none,
                            m.server_name, "--target");
    s.sizes = sizes_of(m);
    s.connections = connections;
    s.messages = m.messages;
    s.ack_log_path = m.ack_log;
    SmtpLoadOptions& o = s.options;
    o.helo = m.helo;
    o.from = m.from;
    check_address(o.from, "--from");
    o.rcpts = m.rcpt_file.empty() ? m.rcpts : read_lines(m.rcpt_file, "--rcpt-file");
    if (o.rcpts.empty()) throw UsageError{"no recipient: give --rcpt ADDR (repeatable) or --rcpt-file FILE"};
    for (const std::string& r : o.rcpts) check_address(r, "recipient");
    o.rcpts_per_msg = m.rcpts_per_msg;
    o.msgs_per_conn = m.msgs_per_conn;
    o.tls = s.target.tls;
    o.pipelining = m.pipelining;
    s.rate_per_s = m.rate_per_s;
    o.transactions_paced = m.rate_per_s > 0 && m.msgs_per_conn > 1;
    if (!m.auth.empty()) {
        const std::size_t colon = m.auth.find(':');
        if (colon == std::string::npos || colon == 0) throw UsageError{"--auth: expected USER:PASS"};
        if (o.tls == TlsStart::none) throw UsageError{"--auth needs --starttls or --tls (credentials never go in the clear)"};
        o.auth_user = m.auth.substr(0, colon);
        o.auth_password = m.auth.substr(colon + 1);
    }
    return s;
}

Pop3Scenario pop3_scenario(const MailCommands& m, const std::string& target, std::uint32_t connections) {
    Pop3Scenario s;
    s.target = parse_target(target, m.pop3_tls ? TlsStart::implicit : TlsStart::none, m.server_name, "--target");
    s.connections = connections;
    s.sessions = m.sessions;
    s.options.dele = m.dele;
    for (const std::string& line : read_lines(m.users_file, "--users")) {
        const std::size_t space = line.find_first_of(" \t");
        if (space == std::string::npos) throw UsageError{fmt::format("--users {}: \"address password\" expected a line", m.users_file)};
        Pop3User user{line.substr(0, space), line.substr(line.find_first_not_of(" \t", space))};
        check_address(user.address, "user");
        s.users.push_back(std::move(user));
    }
    if (s.users.size() < connections)
        throw UsageError{fmt::format("--users {} has {} users for {} POP3 connections: a maildrop serves one session at a time",
                                     m.users_file, s.users.size(), connections)};
    return s;
}

// "4:1" -> the SMTP share of `connections`, each side at least one.
std::pair<std::uint32_t, std::uint32_t> split_connections(const std::string& ratio, std::uint32_t connections) {
    unsigned smtp = 0, pop3 = 0;
    char colon = 0;
    std::istringstream in(ratio);
    if (!(in >> smtp >> colon >> pop3) || colon != ':' || smtp == 0 || pop3 == 0 || !in.eof())
        throw UsageError{fmt::format("--ratio \"{}\": expected SMTP:POP3 connections, e.g. 4:1", ratio)};
    if (connections < 2) throw UsageError{"--connections: mixed needs at least 2"};
    auto s = static_cast<std::uint32_t>(std::lround(static_cast<double>(connections) * smtp / (smtp + pop3)));
    s = std::clamp<std::uint32_t>(s, 1, connections - 1);
    return {s, connections - s};
}

void on_stop_signal(int) { request_load_stop(); }

// Every connection is a descriptor: lift the soft limit (1024 on a stock system) to the hard one.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
    limit.rlim_cur = limit.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &limit);
}

int run_and_report(const std::string& name, const MailCommands& m, const SmtpScenario* smtp, const Pop3Scenario* pop3) {
    if (std::signal(SIGINT, on_stop_signal) == SIG_ERR || std::signal(SIGTERM, on_stop_signal) == SIG_ERR ||
        std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        std::fprintf(stderr, "vaultmx-bench %s: cannot set the signal handlers\n", name.c_str());
        return exit_cannot_run;
    }
    raise_descriptor_limit();
    RunLimits limits = m.limits;
    limits.duration_s = m.duration_s;
    std::string error;
    auto run = run_load(limits, smtp, pop3, error);
    if (!run) {
        std::fprintf(stderr, "vaultmx-bench %s: %s\n", name.c_str(), error.c_str());
        return exit_cannot_run;
    }
    const std::string out = m.json ? report_json(name, *run) : report_text(name, *run);
    if (std::fputs(out.c_str(), stdout) == EOF || std::fflush(stdout) != 0) {
        std::fprintf(stderr, "vaultmx-bench %s: cannot write the report\n", name.c_str());
        return exit_cannot_run;
    }
    return 0;
}

// ------------------------------------------------------------------ sink

int run_sink(const MailCommands& m) {
    auto address = parse_socket_address(m.listen);
    if (!address) throw UsageError{fmt::format("--listen \"{}\": expected HOST:PORT with a numeric address", m.listen)};
    std::shared_ptr<const net::TlsServerContext> tls;
    if (!m.tls_cert.empty()) {
        std::string detail;
        net::TlsServerOptions options;
        options.certificate = {m.tls_cert, m.tls_key};
        auto context = net::TlsServerContext::create(options, detail);
        if (!context) {
            std::fprintf(stderr, "vaultmx-bench sink: %s\n", detail.c_str());
            return exit_cannot_run;
        }
        tls = *context;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);  // before the shard threads exist: they inherit it
    raise_descriptor_limit();
    SinkCounters counters;
    EngineConfig config;
    config.shards = m.shards;
    std::vector<ListenerSpec> listeners;
    listeners.push_back({"sink", *address, smtp_sink_factory(tls, counters)});
    Engine engine(config, std::move(listeners), nullptr);
    if (const auto bind_error = engine.bind()) {
        std::fprintf(stderr, "vaultmx-bench sink: bind %s: %s\n", m.listen.c_str(), bind_error->error.message().c_str());
        return exit_cannot_run;
    }
    if (auto r = engine.start(); !r) {
        std::fprintf(stderr, "vaultmx-bench sink: %s\n", r.error().message().c_str());
        return exit_cannot_run;
    }
    std::printf("listening %s\n", address->to_string().c_str());
    if (std::fflush(stdout) != 0) {  // whoever waits for that line would wait for ever
        engine.request_stop();
        engine.join();
        std::fprintf(stderr, "vaultmx-bench sink: cannot write to standard output\n");
        return exit_cannot_run;
    }
    timespec wait{static_cast<time_t>(m.duration_s), static_cast<long>((m.duration_s - static_cast<double>(static_cast<time_t>(m.duration_s))) * 1e9)};
    if (m.duration_s > 0) {
        sigtimedwait(&stop_signals, nullptr, &wait);
    } else {
        int signal = 0;
        sigwait(&stop_signals, &signal);
    }
    engine.request_stop();
    engine.join();
    std::fprintf(stderr, "vaultmx-bench sink: %llu sessions, %llu messages (%llu bytes) discarded\n",
                 static_cast<unsigned long long>(counters.sessions.load()),
                 static_cast<unsigned long long>(counters.messages.load()),
                 static_cast<unsigned long long>(counters.bytes.load()));
    return 0;
}

int run_parsed(MailCommands& m) {
    if (*m.sink) return run_sink(m);
    if (*m.smtp) {
        if (m.messages == 0 && m.duration_s == 0) throw UsageError{"give --messages M or --duration S"};
        const SmtpScenario smtp = smtp_scenario(m, m.target, m.connections);
        return run_and_report("smtp", m, &smtp, nullptr);
    }
    if (*m.pop3) {
        if (m.sessions == 0 && m.duration_s == 0) throw UsageError{"give --sessions N or --duration S"};
        const Pop3Scenario pop3 = pop3_scenario(m, m.target, m.connections);
        return run_and_report("pop3", m, nullptr, &pop3);
    }
    if (*m.mixed) {
        const auto [smtp_connections, pop3_connections] = split_connections(m.ratio, m.connections);
        const SmtpScenario smtp = smtp_scenario(m, m.smtp_target, smtp_connections);
        const Pop3Scenario pop3 = pop3_scenario(m, m.pop3_target, pop3_connections);
        return run_and_report("mixed", m, &smtp, &pop3);
    }
    return -1;
}

}  // namespace

std::shared_ptr<MailCommands> define_mail_commands(CLI::App& app) {
    auto m = std::make_shared<MailCommands>();
    m->smtp = define_smtp(app, *m);
    m->pop3 = define_pop3(app, *m);
    m->mixed = define_mixed(app, *m);
    m->sink = define_sink(app, *m);
    return m;
}

int run_mail_command(MailCommands& m) {
    // Argument errors found after parsing (files, addresses, combinations) end like CLI11's own.
    try {
        return run_parsed(m);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "vaultmx-bench: %s\n", e.text.c_str());
        return exit_usage;
    }
}

}  // namespace vmx::bench
