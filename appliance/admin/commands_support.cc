// `support mailbox ADDRESS [--reveal --reason TEXT] [--trash]`: a user's messages as support sees
// them: id, state, date, size, UIDL, and keyed hashes (support_view.h) in place of sender and
// subject. The header fields are read on the mailbox's owner shard a few messages per step
// (mailstore/mailbox_headers.h); the hashes and the answer are made here.
// A reveal shows sender and subject in clear, and only once it is on record: the user's reveal
// window (a SupportGrant, sealed in the directory; opened by the first reveal, [support]
// reveal_window_s long, never lengthened by a later one), an entry in the user's own history (login
// history, result support_reveal, the reason as its note) and an audit entry with the reason are
// all durable first; if any of them fails, nothing is revealed. Without --reveal the listing is
// obfuscated whatever window is open: every clear view carries its own reason. No sender or
// subject ever reaches a log line, an audit entry or an error reply. Control thread only.
#include <fmt/format.h>

#include <memory>

#include "appliance/admin/command_handlers.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/admin/support_view.h"
#include "appliance/common/json_text.h"
#include "appliance/directory/account.h"
#include "appliance/mailstore/mailbox_headers.h"
#include "core/log.h"
#include "store/layout.h"

namespace vmx::admin {
namespace {

struct SupportAsk {
    std::uint64_t user_id = 0;
    std::string address;
    bool reveal = false;
    std::string reason;
    std::uint32_t admin_uid = 0;
    bool json = false;
};

// One run of the command: the rows travel to the owner shard and back until every message is read.
struct SupportRun {
    AdminContext& c;
    SupportAsk ask;
    std::unique_ptr<MailboxHeaders> state;  // null while a step is on the owner shard
    std::uint32_t owner = 0;
    AdminResponder respond;
};

// The reveal window the command rides on: the user's open one, or a new one stored now.
Result<SupportGrant> open_window(AdminContext& c, const SupportAsk& ask, std::int64_t now) {
    const auto keys = c.keys.snapshot();
    auto earlier = c.support_grants->find(*keys, ask.user_id);
    if (!earlier) return fail(earlier.error());
    if (*earlier && (*earlier)->expires_unix > now) return std::move(**earlier);
    SupportGrant grant{ask.user_id, ask.admin_uid, ask.reason, now, now + std::int64_t{c.support_reveal_window_s}};
    if (auto stored = c.support_grants->put(*keys, grant); !stored) return fail(stored.error());
    return grant;
}

// The reveal on record before anything shows: window, the user's history, the audit chain.
Result<SupportGrant> record_reveal(AdminContext& c, const SupportAsk& ask, std::size_t messages) {
    const std::int64_t now = c.now_unix();
    auto grant = open_window(c, ask, now);
    if (!grant) return grant;
    LoginEvent event;
    event.user_id = ask.user_id;
    event.time_unix = now;
    event.result = LoginResult::support_reveal;
    event.method = LoginMethod::support;
    event.protocol = "support";
    event.client_ip = "admin";  // the admin socket: what the user sees in place of a client address
    event.note = ask.reason;
    if (auto written = c.logins->record_now(std::move(event)); !written) return fail(written.error());
    if (c.audit != nullptr) {
        AuditEntry entry;
        entry.time_unix = now;
        entry.actor_uid = ask.admin_uid;
        entry.command = "support reveal";
        entry.arguments = {"--address", ask.address, "--reason", ask.reason, "--until", format_time(grant->expires_unix),
                           "--messages", std::to_string(messages)};
        if (auto appended = c.audit->append(entry); !appended) return fail(appended.error());
    }
    log_event(LogLevel::info, "support.reveal", "user={} uid={} until={} messages={}", ask.user_id, ask.admin_uid,
              grant->expires_unix, messages);
    return grant;
}

std::string date_of(const SupportRow& row) {
    return format_time(row.headers.date_unix.value_or(row.info.arrival_unix));
}

std::string hash_or_dash(std::span<const std::uint8_t> key, SupportField field, std::uint64_t user,
                         const std::optional<std::string>& value) {
    return value ? "#" + support_field_hash(key, field, user, *value) : std::string("-");
}

std::string text_row(const SupportRow& row, std::span<const std::uint8_t> key, const SupportAsk& ask) {
    const bool live = row.info.state == store::MessageState::live;
    std::string out = fmt::format("{}\tstate={}\tdate={}\tdate_from={}\tsize={}\tuidl={}", row.info.id,
                                  live ? "live" : "trash", date_of(row), row.headers.date_unix ? "header" : "stored",
                                  row.info.size_bytes, row.info.uidl);
    if (row.read_error) return out + fmt::format("\tfrom=?\tsubject=?\terror=\"{}\"\n", row.read_error.message());
    out += fmt::format("\tfrom={}\tsubject={}", hash_or_dash(key, SupportField::sender, ask.user_id, row.headers.from),
                       hash_or_dash(key, SupportField::subject, ask.user_id, row.headers.subject));
    if (ask.reveal)
        out += fmt::format("\tfrom_text={}\tsubject_text={}", row.headers.from.value_or("-"),
                           row.headers.subject.value_or("-"));
    return out + "\n";
}

std::string json_or_null(const std::optional<std::string>& value) { return value ? json_string(*value) : "null"; }

std::string json_row(const SupportRow& row, std::span<const std::uint8_t> key, const SupportAsk& ask) {
    const bool live = row.info.state == store::MessageState::live;
    std::string out = fmt::format(R"({{"id":{},"state":{},"date":{},"date_from":{},"size":{},"uidl":{})", row.info.id,
                                  json_string(live ? "live" : "trash"), json_string(date_of(row)),
                                  json_string(row.headers.date_unix ? "header" : "stored"), row.info.size_bytes,
                                  json_string(row.info.uidl));
    if (row.read_error) return out + fmt::format(R"(,"error":{}}})", json_string(row.read_error.message()));
    auto hash = [&](SupportField f, const std::optional<std::string>& v) {
        return v ? json_string(support_field_hash(key, f, ask.user_id, *v)) : std::string("null");
    };
    out += fmt::format(R"(,"from_hash":{},"subject_hash":{})", hash(SupportField::sender, row.headers.from),
                       hash(SupportField::subject, row.headers.subject));
    if (ask.reveal)
        out += fmt::format(R"(,"from":{},"subject":{})", json_or_null(row.headers.from), json_or_null(row.headers.subject));
    return out + "}";
}

AdminReply listing(const SupportRun& run, const std::optional<SupportGrant>& grant) {
    const SupportAsk& ask = run.ask;
    auto key = support_hash_key(run.c.keys.master().material.view());
    if (!key) return error_reply("keys", key.error());
    const auto& rows = run.state->rows();
    std::string out;
    for (const SupportRow& row : rows) {
        if (ask.json) out += (out.empty() ? "" : ",") + json_row(row, key->view(), ask);
        else out += text_row(row, key->view(), ask);
    }
    if (ask.json)
        return ok(fmt::format(R"({{"user":{},"revealed":{},"reveal_until":{},"reason":{},"messages":[{}]}})" "\n",
                              json_string(ask.address), grant ? "true" : "false",
                              grant ? json_string(format_time(grant->expires_unix)) : "null",
                              grant ? json_string(ask.reason) : "null", out));
    const std::string head =
        grant ? fmt::format("# support view of {}: {} message{}; sender and subject revealed (reason: {}; window "
                            "opened {} by uid {}, open until {})\n",
                            ask.address, rows.size(), rows.size() == 1 ? "" : "s", ask.reason, format_time(grant->granted_unix), grant->admin_uid,
                            format_time(grant->expires_unix))
              : fmt::format("# support view of {}: {} message{}; sender and subject are keyed hashes "
                            "(--reveal --reason TEXT shows them)\n",
                            ask.address, rows.size(), rows.size() == 1 ? "" : "s");
    return ok(head + out);
}

void finish(const std::shared_ptr<SupportRun>& run) {
    AdminContext& c = run->c;
    if (c.support_grants != nullptr) {
        auto swept = c.support_grants->erase_expired(*c.keys.snapshot(), c.now_unix(), support_grants_swept_max);
        if (!swept) log_event(LogLevel::warn, "support.sweep_failed", "error=\"{}\"", swept.error().message());
    }
    std::optional<SupportGrant> grant;
    if (run->ask.reveal) {
        auto recorded = record_reveal(c, run->ask, run->state->rows().size());
        if (!recorded) {
            log_event(LogLevel::error, "support.reveal_failed", "user={} error=\"{}\"", run->ask.user_id,
                      recorded.error().message());
            return run->respond(error_reply("the reveal could not be recorded, so nothing is revealed", recorded.error()));
        }
        grant = std::move(*recorded);
    }
    run->respond(listing(*run, grant));
}

void next_step(const std::shared_ptr<SupportRun>& run);

void on_step(const std::shared_ptr<SupportRun>& run, Message& reply) {
    auto* step = dynamic_cast<MailboxHeadersStep*>(reply.payload.get());
    if (step == nullptr || step->state == nullptr)
        return run->respond({AdminStatus::failed, "support mailbox: the shard gave no answer"});
    run->state = std::move(step->state);
    if (step->error) return run->respond(error_reply("mailbox", step->error));
    if (run->state->done()) return finish(run);
    next_step(run);
}

void next_step(const std::shared_ptr<SupportRun>& run) {
    auto step = std::make_unique<MailboxHeadersStep>();
    step->state = std::move(run->state);
    Message m;
    m.kind = message_mailbox_headers;
    m.payload = std::move(step);
    if (!run->c.shards->calls().call(run->owner, std::move(m), [run](Message& reply) { on_step(run, reply); }))
        run->respond({AdminStatus::failed, "the mailbox's shard is busy; try again"});
}

// The request's own checks: a reveal needs a reason, and a reason goes only with a reveal.
std::optional<AdminReply> refusal(const AdminContext& c, const AdminRequest& r) {
    const auto reason = r.field("reason");
    if (r.has("reveal") && !reason)
        return refused("--reveal needs --reason TEXT (why: a ticket, a request); it is audited and shown to the user");
    if (reason && !r.has("reveal")) return refused("--reason goes with --reveal");
    if (reason && !is_support_reason(*reason))
        return refused(fmt::format("--reason: 1 to {} bytes of printable text, no control characters",
                                   support_reason_bytes_max));
    if (r.has("reveal") && (c.support_grants == nullptr || c.logins == nullptr))
        return AdminReply{AdminStatus::failed, "reveals cannot be recorded in this daemon; nothing is revealed"};
    return std::nullopt;
}

}  // namespace

// The command table fixes the signature.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
void support_mailbox(AdminContext& c, const AdminRequest& r, AdminResponder respond) {
    if (auto refused_now = refusal(c, r)) return respond(std::move(*refused_now));
    const auto address = required(r, "address");
    if (c.mail == nullptr || c.shards == nullptr)
        return respond({AdminStatus::failed, "mailboxes are not open"});
    auto user = named_user(c, address);
    if (!user) return respond(error_reply(fmt::format("user {}", address), user.error()));
    auto account = account_of(c.directory, *c.keys.snapshot(), user->id, c.mail->segments());
    if (!account) return respond(error_reply("directory", account.error()));
    SupportAsk ask{user->id, std::string(user->address), r.has("reveal"), std::string(r.field("reason").value_or("")),
                   c.peer_uid, r.json};
    const auto trash = r.has("trash") ? store::ListTrash::include : store::ListTrash::exclude;
    auto run = std::make_shared<SupportRun>(SupportRun{c, std::move(ask),
                                                       std::make_unique<MailboxHeaders>(account->mailbox, trash),
                                                       store::owner_shard(account->mailbox.segment, c.shards->count()),
                                                       std::move(respond)});
    next_step(run);
}

}  // namespace vmx::admin
