// The command table as CLI11 subcommands (see admin_command_line.h).
#include "appliance/cli/admin_command_line.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <type_traits>

#include "core/assert.h"

namespace vmx {
namespace {

// The word before the last: "user app-password" for "user app-password add"; "" for "stats".
std::string_view parent_of(std::string_view name) {
    const auto space = name.rfind(' ');
    return space == std::string_view::npos ? std::string_view() : name.substr(0, space);
}

std::string_view last_word(std::string_view name) {
    const auto space = name.rfind(' ');
    return space == std::string_view::npos ? name : name.substr(space + 1);
}

template <class T>
void add_value(CLI::App& app, const CommandArg& arg, T& value) {
    CLI::Option* option = nullptr;
    if constexpr (std::is_same_v<T, bool>)
        option = app.add_flag(std::string(arg.spelling), value, std::string(arg.help));
    else
        option = app.add_option(std::string(arg.spelling), value, std::string(arg.help));
    if (arg.need == Need::required) option->required();
}

}  // namespace

CLI::App* add_command_group(CLI::App& parent, const std::string& name, const std::string& help) {
    auto* group = parent.add_subcommand(name, help);
    group->require_subcommand(1);
    return group;
}

AdminCommandLine::AdminCommandLine(CLI::App& root) {
    for (const CommandRow& row : command_table()) {
        const std::string_view parent = parent_of(row.name);
        add_leaf(parent.empty() ? root : *group_of(root, parent), row, last_word(row.name));
    }
}

// The group's subcommand, added (with its own parents) the first time a command needs it.
CLI::App* AdminCommandLine::group_of(CLI::App& root, std::string_view name) {
    if (auto it = groups_.find(name); it != groups_.end()) return it->second;
    const auto groups = command_groups();
    const auto group = std::find_if(groups.begin(), groups.end(), [&](const CommandGroup& g) { return g.name == name; });
    VMX_ASSERT(group != groups.end());  // command_table.cc checks every command's groups at compile time
    const std::string_view parent = parent_of(name);
    CLI::App* app = add_command_group(parent.empty() ? root : *group_of(root, parent), std::string(last_word(name)),
                                      std::string(group->help));
    groups_.emplace(std::string(name), app);
    return app;
}

// Positionals first, then --password-stdin where the row reads one, then the options in row order
// (the order --help lists them).
void AdminCommandLine::add_leaf(CLI::App& parent, const CommandRow& row, std::string_view word) {
    Leaf& leaf = leaves_.emplace_back();
    leaf.row = &row;
    leaf.app = parent.add_subcommand(std::string(word), std::string(row.help));
    leaf.values.resize(row.args.size());
    for (std::size_t i = 0; i < row.args.size(); ++i)
        if (row.args[i].kind == ArgKind::positional) add_value(*leaf.app, row.args[i], leaf.values[i].text);
    if (row.password == PasswordStdin::optional || row.password == PasswordStdin::required) {
        auto* option = leaf.app->add_flag("--password-stdin", leaf.password_stdin, "read the password from stdin");
        if (row.password == PasswordStdin::required) option->required();
    }
    for (std::size_t i = 0; i < row.args.size(); ++i) {
        const CommandArg& arg = row.args[i];
        Value& value = leaf.values[i];
        switch (arg.kind) {
            case ArgKind::positional: break;
            case ArgKind::option: add_value(*leaf.app, arg, value.text); break;
            case ArgKind::repeatable: add_value(*leaf.app, arg, value.texts); break;
            case ArgKind::flag: add_value(*leaf.app, arg, value.set); break;
        }
    }
}

const AdminCommandLine::Leaf* AdminCommandLine::parsed_leaf() const {
    for (const Leaf& leaf : leaves_)
        if (leaf.app->parsed()) return &leaf;
    return nullptr;
}

const CommandRow* AdminCommandLine::parsed() const {
    const Leaf* leaf = parsed_leaf();
    return leaf ? leaf->row : nullptr;
}

bool AdminCommandLine::password_stdin() const {
    const Leaf* leaf = parsed_leaf();
    return leaf && (leaf->password_stdin || leaf->row->password == PasswordStdin::value);
}

AdminRequest AdminCommandLine::request() const {
    AdminRequest request;
    const Leaf* leaf = parsed_leaf();
    if (leaf == nullptr) return request;
    request.command = std::string(leaf->row->name);
    for (std::size_t i = 0; i < leaf->row->args.size(); ++i) {
        const CommandArg& arg = leaf->row->args[i];
        const Value& value = leaf->values[i];
        const std::string field(arg.field);
        switch (arg.kind) {
            case ArgKind::positional:
            case ArgKind::option:
                if (arg.need == Need::required || !value.text.empty()) request.fields.emplace_back(field, value.text);
                break;
            case ArgKind::repeatable:
                for (const auto& text : value.texts) request.fields.emplace_back(field, text);
                break;
            case ArgKind::flag:
                if (value.set) request.fields.emplace_back(field, "1");
                break;
        }
    }
    return request;
}

}  // namespace vmx
