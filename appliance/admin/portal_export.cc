// The portal's staged export commands (see portal_export.h).
#include "appliance/admin/portal_export.h"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "appliance/common/message_kinds.h"
#include "appliance/directory/account.h"
#include "appliance/jobs/export_staging.h"
#include "core/log.h"
#include "store/errc.h"
#include "store/layout.h"

namespace vmx {
namespace {

using Answered = std::function<void(StagedExportCall*)>;  // null: the shard did not answer

// The call for the session user's own mailbox: the address never comes from the request.
std::unique_ptr<StagedExportCall> staged_call(const PortalCall& call, StagedExportOp op) {
    auto staged = std::make_unique<StagedExportCall>();
    staged->op = op;
    staged->box = mailbox_of(call.user.id, call.context.admin.mail->segments());
    return staged;
}

bool shards_open(PortalCall& call) {
    if (call.context.admin.mail != nullptr && call.context.admin.shards != nullptr) return true;
    call.respond({AdminStatus::failed, "mailboxes are not open"});
    return false;
}

// To the owner shard of the call's mailbox; `done` runs once, with its answer or null.
void send(AdminContext& context, std::unique_ptr<StagedExportCall> staged, const Answered& done) {
    const std::uint32_t owner = store::owner_shard(staged->box.segment, context.shards->count());
    Message m;
    m.kind = message_staged_export;
    m.payload = std::move(staged);
    auto on_reply = [done](Message& reply) { done(dynamic_cast<StagedExportCall*>(reply.payload.get())); };
    if (!context.shards->calls().call(owner, std::move(m), std::move(on_reply))) done(nullptr);
}

AdminReply failure_of(const StagedExportCall* answered) {
    if (answered == nullptr) return {AdminStatus::failed, "the mailbox's shard is busy; try again"};
    if (answered->error == store::StoreErrc::not_found)
        return admin::refused("the export is gone: it was replaced, discarded or has expired");
    if (answered->error == store::StoreErrc::invalid_request) return admin::refused("no such part");
    return admin::error_reply("export", answered->error);
}

// On the audit chain as run_admin_command records an admin's command, by the portal's uid. A reply
// whose entry could not be written fails: no export leaves unrecorded.
void audited(AdminContext& context, std::uint32_t uid, std::string_view command, std::vector<std::string> arguments,
             AdminReply reply, const AdminResponder& respond) {
    if (context.audit != nullptr) {
        AuditEntry entry;
        entry.time_unix = context.now_unix();
        entry.actor_uid = uid;
        entry.command = std::string(command);
        entry.arguments = std::move(arguments);
        if (reply.status != AdminStatus::ok)
            entry.result = AuditResult::failure(reply.status == AdminStatus::refused ? "refused" : "failed",
                                                reply.text.substr(0, reply.text.find('\n')));
        if (auto appended = context.audit->append(entry); !appended) {
            log_event(LogLevel::error, "audit.append_failed", "command=\"{}\" error=\"{}\"", command,
                      appended.error().message());
            return respond({AdminStatus::failed, "the export could not be recorded in the audit log; try again"});
        }
    }
    respond(std::move(reply));
}

std::string status_json(const StagedStatus& s) {
    switch (s.state) {
        case StagedState::none: break;
        case StagedState::preparing:
            return fmt::format(R"({{"state":"preparing","bytes":{},"messages":{}}})", s.bytes, s.messages);
        case StagedState::ready:
            return fmt::format(R"({{"state":"ready","export":{},"bytes":{},"messages":{},"parts":{},"trash":{},"expires":{}}})",
                               s.export_id, s.bytes, s.messages, s.parts, s.trash ? "true" : "false",
                               json_string(admin::format_time(s.expires_unix)));
        case StagedState::failed: return fmt::format(R"({{"state":"failed","error":{}}})", json_string(s.error));
    }
    return R"({"state":"none"})";
}

std::optional<std::uint64_t> number_field(const AdminRequest& request, std::string_view name) {
    const std::string_view text = request.field(name).value_or("");
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

void portal_export_prepare(PortalCall& call) {
    if (!shards_open(call)) return;
    auto staged = staged_call(call, StagedExportOp::prepare);
    std::vector<std::string> arguments = {"--address", call.user.address};
    if (call.request.field("trash") == "1") {
        staged->trash = ExportTrash::include;
        arguments.insert(arguments.end(), {"--trash", "1"});
    }
    AdminContext& context = call.context.admin;
    send(context, std::move(staged), [&context, uid = call.peer.uid, arguments = std::move(arguments),
                                    respond = std::move(call.respond)](StagedExportCall* answered) {
        AdminReply reply = answered != nullptr && !answered->error ? admin::ok(R"({"state":"preparing"})") : failure_of(answered);
        audited(context, uid, "portal export-prepare", arguments, std::move(reply), respond);
    });
}

void portal_export_status(PortalCall& call) {
    if (!shards_open(call)) return;
    send(call.context.admin, staged_call(call, StagedExportOp::status),
         [respond = std::move(call.respond)](StagedExportCall* answered) {
             if (answered == nullptr || answered->error) return respond(failure_of(answered));
             respond(admin::ok(status_json(answered->status)));
         });
}

void portal_export_download(PortalCall& call) {
    if (!shards_open(call)) return;
    const auto export_id = number_field(call.request, "export");
    const auto part = number_field(call.request, "part");
    if (!export_id || !part || *part > UINT32_MAX) return call.respond(admin::refused("no such part"));
    auto staged = staged_call(call, StagedExportOp::read);
    staged->export_id = *export_id;
    staged->part = static_cast<std::uint32_t>(*part);
    AdminContext& context = call.context.admin;
    std::vector<std::string> arguments = {"--address", call.user.address, "--export", std::to_string(*export_id)};
    send(context, std::move(staged), [&context, uid = call.peer.uid, first = *part == 0, arguments = std::move(arguments),
                                    respond = std::move(call.respond)](StagedExportCall* answered) {
        AdminReply reply = answered != nullptr && !answered->error ? admin::ok(std::move(answered->bytes)) : failure_of(answered);
        if (!first) return respond(std::move(reply));
        audited(context, uid, "portal export-download", arguments, std::move(reply), respond);
    });
}

void portal_export_discard(PortalCall& call) {
    if (!shards_open(call)) return;
    AdminContext& context = call.context.admin;
    send(context, staged_call(call, StagedExportOp::discard),
         [&context, uid = call.peer.uid, arguments = std::vector<std::string>{"--address", call.user.address},
          respond = std::move(call.respond)](StagedExportCall* answered) {
             AdminReply reply = answered != nullptr && !answered->error ? admin::ok(R"({"discarded":true})") : failure_of(answered);
             audited(context, uid, "portal export-discard", arguments, std::move(reply), respond);
         });
}

}  // namespace vmx
