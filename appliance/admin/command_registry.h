// The daemon's side of the command table: each command's name mapped to the handler that runs it,
// either at once or once a shard has done its part. Every row of command_table() has exactly one
// entry here and every entry a row (tests/appliance/admin/command_table_test.cc). Immutable.
#pragma once

#include <span>
#include <string_view>

#include "appliance/admin/commands.h"

namespace vmx {

struct CommandHandler {
    std::string_view command;
    AdminReply (*run)(AdminContext&, const AdminRequest&) = nullptr;                 // answers at once
    void (*run_async)(AdminContext&, const AdminRequest&, AdminResponder) = nullptr;  // answers later
};

std::span<const CommandHandler> command_handlers() noexcept;
const CommandHandler* find_handler(std::string_view command) noexcept;

}  // namespace vmx
