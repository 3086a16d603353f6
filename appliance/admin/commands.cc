// Runs an admin request: its shape is checked against its row of the command table
// (check_request), its handler found in the registry and run, and the finished command appended
// to the audit log before the reply goes out. The handlers live in commands_*.cc. Control thread only.
#include "appliance/admin/commands.h"

#include <fmt/format.h>

#include <span>

#include "appliance/admin/command_registry.h"
#include "appliance/admin/command_table.h"
#include "core/hex_text.h"
#include "core/log.h"

namespace vmx {
namespace {

// The request as audit arguments: each field as "--name value"; the secret never, only that one
// came ("--password-stdin", or "--value-stdin" for a command whose value is the secret).
std::vector<std::string> audit_arguments(const AdminRequest& r) {
    std::vector<std::string> out;
    for (const auto& [name, value] : r.fields) {
        out.push_back("--" + name);
        out.push_back(value);
    }
    if (r.secret.empty()) return out;
    const CommandRow* row = find_command(r.command);
    if (row != nullptr && row->password == PasswordStdin::key_file) return out;  // the file's name is a field
    out.emplace_back(row != nullptr && row->password == PasswordStdin::value ? "--value-stdin" : "--password-stdin");
    return out;
}

std::string_view status_class(AdminStatus s) {
    switch (s) {
        case AdminStatus::ok: return "";
        case AdminStatus::refused: return "refused";
        case AdminStatus::failed: return "failed";
        case AdminStatus::forbidden: return "forbidden";
        case AdminStatus::part: return "failed";  // a part never ends a command
    }
    return "failed";
}

// Appends the finished command to the audit log, then answers.
void record_and_respond(AdminContext& context, const std::string& command, std::vector<std::string> arguments,
                        std::uint32_t uid, AdminReply reply, const AdminResponder& respond) {
    if (context.audit != nullptr) {
        AuditEntry entry;
        entry.time_unix = context.now_unix();
        entry.actor_uid = uid;
        entry.command = command.empty() ? std::string("(none)") : command;
        entry.arguments = std::move(arguments);
        for (std::string& note : reply.audit_notes) entry.arguments.push_back(std::move(note));
        if (reply.status != AdminStatus::ok) {
            // The first line of what the admin was told (replies never carry secrets; successful
            // ones may, such as a new app password, and are not recorded).
            const std::string first_line = reply.text.substr(0, reply.text.find('\n'));
            entry.result = AuditResult::failure(std::string(status_class(reply.status)), first_line);
        }
        if (auto appended = context.audit->append(entry); !appended) {
            log_event(LogLevel::error, "audit.append_failed", "command=\"{}\" error=\"{}\"", command,
                      appended.error().message());
            reply.status = AdminStatus::failed;
            reply.text += "(warning: this command could not be recorded in the audit log)\n";
        } else {
            log_event(LogLevel::info, "audit.appended", "sequence={} hash={}", appended->sequence, hex_of(appended->hash));
        }
    }
    respond(std::move(reply));
}

}  // namespace

void run_admin_command(AdminContext& context, const AdminRequest& request, const AdminPeer& peer,
                       AdminResponder respond) {
    auto finish = [&context, command = request.command, arguments = audit_arguments(request), uid = peer.uid,
                   respond = std::move(respond)](AdminReply reply) mutable {
        record_and_respond(context, command, std::move(arguments), uid, std::move(reply), respond);
    };
    if (auto problem = check_request(request)) return finish({AdminStatus::refused, std::move(*problem)});
    const CommandHandler* handler = find_handler(request.command);
    if (handler == nullptr) return finish({AdminStatus::failed, fmt::format("{}: no handler in this daemon", request.command)});
    context.peer_uid = peer.uid;
    if (handler->run_async != nullptr) return handler->run_async(context, request, std::move(finish));
    finish(handler->run(context, request));
}

}  // namespace vmx
