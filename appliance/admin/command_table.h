// The admin commands as one table of plain data, read by both ends of the admin socket: the `vaultmx`
// CLI builds its command line from it and checks values against it before sending; the daemon checks
// each request's shape against its row before a handler runs. A new command is one row here and one
// handler in command_registry.cc. Immutable; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "appliance/admin/protocol.h"
#include "core/patterns.h"

namespace vmx {

enum class ArgKind : std::uint8_t {
    positional,  // "address": a word on the command line, always required
    option,      // "--quota 2G": given at most once
    repeatable,  // "--allow-net NET", any number of times: one field per value, in order
    flag,        // "--failed": no value; sent as the field with value "1"
};

enum class Need : std::uint8_t { optional, required };

// Whether a command reads a password from stdin (--password-stdin); it travels as the request's
// secret, never as a field. `value`: the command always reads its value from stdin, with no flag
// (secret set: a value on the command line would sit in the shell's history and in ps).
// `key_file`: the CLI reads the secret from the file an option names (key rotate --master
// --new-key-file: the new master key), no stdin.
enum class PasswordStdin : std::uint8_t { none, optional, required, value, key_file };

// What a value must look like. The CLI checks it before sending; the daemon re-checks every value
// in its handlers (the socket is the trust boundary), with its own messages.
struct ValueCheck {
    std::optional<Pattern> pattern{};     // none: any value
    std::optional<Pattern> or_pattern{};  // a second form that is also accepted
    std::string_view subject{};           // names the value in the message: "organisation"
    std::string_view expected{};          // the message's "invalid ..." noun; empty: the pattern's name
};

struct CommandArg {
    std::string_view field;     // the field's name on the wire
    std::string_view spelling;  // on the command line: "address" (positional) or "--quota"
    ArgKind kind = ArgKind::option;
    Need need = Need::optional;
    std::string_view help;
    ValueCheck check{};
};

struct CommandRow {
    std::string_view name;  // on the wire and on the command line: "user app-password add"
    std::string_view help;
    std::span<const CommandArg> args;  // in the order their fields are sent
    PasswordStdin password = PasswordStdin::none;
    // Fields of which exactly one must be given (key rotate's scopes); the CLI checks it.
    std::span<const std::string_view> exactly_one_of{};
};

// A word that groups commands ("user", "user app-password"); it runs nothing itself.
struct CommandGroup {
    std::string_view name;
    std::string_view help;
};

// Every command, in the order the CLI lists them.
std::span<const CommandRow> command_table() noexcept;
// Every group, parents before their children.
std::span<const CommandGroup> command_groups() noexcept;
const CommandRow* find_command(std::string_view name) noexcept;
const CommandArg* find_arg(const CommandRow& row, std::string_view field) noexcept;

// The CLI's checks of a request it built from the row: each value against its pattern, then the
// row's exactly-one rule. The first problem as one line ("address x: invalid address"), or nothing.
std::optional<std::string> check_values(const CommandRow& row, const AdminRequest& request);
// The daemon's check of a request from the socket: a known command, only its fields, each required
// one present, none but a repeatable one given twice, a password only where one is read. The first
// problem as one line ("unknown field colour"), or nothing.
std::optional<std::string> check_request(const AdminRequest& request);

}  // namespace vmx
