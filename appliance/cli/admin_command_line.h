// The admin commands on vaultmx's command line, built from the command table
// (appliance/admin/command_table.h): one CLI11 subcommand per group and per command, each argument
// spelled and checked as its row says, and the parsed values turned into the request's fields in
// the row's order. One thread (the CLI's main); holds the values CLI11 parses into, so it must
// outlive the parse.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "appliance/admin/command_table.h"
#include "appliance/admin/protocol.h"

namespace CLI {
class App;
}

namespace vmx {

// A word that only groups subcommands: exactly one of them must follow.
CLI::App* add_command_group(CLI::App& parent, const std::string& name, const std::string& help);

class AdminCommandLine {
public:
    // Adds every command of the table under `root`. Subcommands inherit root's settings as they
    // are added (fallthrough, footer), so set those first.
    explicit AdminCommandLine(CLI::App& root);
    AdminCommandLine(const AdminCommandLine&) = delete;
    AdminCommandLine& operator=(const AdminCommandLine&) = delete;

    // After root.parse(): the command given, or null (none, or one that runs locally).
    const CommandRow* parsed() const;
    // The parsed command as a request: its name and its fields in the row's order; an optional
    // value given empty is not sent, a flag is sent as "1". Neither json nor the secret is set.
    AdminRequest request() const;
    // --password-stdin was given (only commands whose row reads a password have it).
    bool password_stdin() const;

private:
    struct Value {
        std::string text;                // positional, option
        std::vector<std::string> texts;  // repeatable
        bool set = false;                // flag
    };
    struct Leaf {
        const CommandRow* row = nullptr;
        CLI::App* app = nullptr;
        std::vector<Value> values;  // one per row.args, sized once: CLI11 holds pointers into it
        bool password_stdin = false;
    };

    CLI::App* group_of(CLI::App& root, std::string_view command);
    void add_leaf(CLI::App& parent, const CommandRow& row, std::string_view word);
    const Leaf* parsed_leaf() const;

    std::map<std::string, CLI::App*, std::less<>> groups_;
    std::deque<Leaf> leaves_;  // a deque: CLI11 holds pointers into each leaf as more are added
};

}  // namespace vmx
