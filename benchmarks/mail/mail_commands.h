// vaultmx-bench's mail subcommands: `smtp`, `pop3`, `mixed` (the load) and `sink` (the discard
// server). define_mail_commands() adds them to the CLI; run_mail_command() runs the one parsed.
// Main thread only. Exit status: 0 the run completed (errors are reported in the figures), 1 it
// could not run, 2 bad arguments (one line on stderr naming the argument).
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

namespace vmx::bench {

inline constexpr int exit_cannot_run = 1;
inline constexpr int exit_usage = 2;

struct MailCommands;

// The returned object holds the options CLI11 writes into; keep it alive until the run.
std::shared_ptr<MailCommands> define_mail_commands(CLI::App& app);
// Returns the exit status, or -1 when none of the mail subcommands was parsed.
int run_mail_command(MailCommands& commands);

}  // namespace vmx::bench
