// Admin commands on the mail queues, like Postfix's mailq/postqueue -p: every queued message of both
// queues (smtp-in: local delivery; smtp-out: outbound) with its recipients' states, and one
// message's envelope in full. Read-only, through mailstore's queue reads; never a body's content
// (the size only). Control thread only.
#include "appliance/admin/command_handlers.h"
#include "appliance/mailstore/queue_reads.h"

#include <fmt/format.h>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "store/errc.h"

namespace vmx::admin {
namespace {

constexpr std::size_t list_max = 10000;  // entries one listing shows; more are counted, not shown

std::string_view queue_name(store::QueueKind kind) { return kind == store::QueueKind::smtp_in ? "smtp-in" : "smtp-out"; }

std::string_view state_name(store::RecipientState state) {
    switch (state) {
        case store::RecipientState::pending: return "pending";
        case store::RecipientState::delivered: return "delivered";
        case store::RecipientState::failed_temp: return "deferred";
        case store::RecipientState::failed_perm: return "failed";
    }
    return "unknown";
}

// The earliest next attempt among recipients still to try; 0 when none waits.
std::int64_t next_attempt(const store::Envelope& e) {
    std::int64_t next = 0;
    for (const auto& r : e.recipients)
        if (r.state == store::RecipientState::failed_temp && (next == 0 || r.next_try_unix < next)) next = r.next_try_unix;
    return next;
}

// The last reply any recipient got, for the one-line listing.
std::string_view last_reply(const store::Envelope& e) {
    for (auto it = e.recipients.rbegin(); it != e.recipients.rend(); ++it)
        if (!it->reply.empty()) return it->reply;
    return {};
}

std::string recipients_json(const store::Envelope& e) {
    std::string out = "[";
    for (const auto& r : e.recipients) {
        out += fmt::format(R"({}{{"address":{},"state":"{}","attempts":{},"next_try":{},"reply":{}}})",
                           out.size() > 1 ? "," : "", json_string(r.address), state_name(r.state), r.attempts,
                           r.next_try_unix, json_string(r.reply));
    }
    return out + "]";
}

std::string entry_json(const QueuedMessage& m, std::int64_t now) {
    if (m.error)
        return fmt::format(R"({{"id":"{}","queue":"{}","error":{}}})", m.queue_id, queue_name(m.kind),
                           json_string(m.error.message()));
    const store::Envelope& e = m.envelope;
    return fmt::format(R"({{"id":"{}","queue":"{}","sender":{},"size":{},"arrival":{},"age_s":{},"next_attempt":{},)"
                       R"("tls":{},"recipients":{}}})",
                       m.queue_id, queue_name(m.kind), json_string(e.sender), m.body_bytes, e.arrival_unix,
                       now - e.arrival_unix, next_attempt(e), json_string(e.tls_version), recipients_json(e));
}

std::string entry_line(const QueuedMessage& m, std::int64_t now) {
    if (m.error) return fmt::format("{}\t{}\tunreadable: {}\n", m.queue_id, queue_name(m.kind), m.error.message());
    const store::Envelope& e = m.envelope;
    std::string rcpts;
    for (const auto& r : e.recipients) rcpts += fmt::format("{}{}({})", rcpts.empty() ? "" : ",", r.address, state_name(r.state));
    std::string line = fmt::format("{}\t{}\tfrom=<{}>\tsize={}\tage={}s\t", m.queue_id, queue_name(m.kind), e.sender,
                                   m.body_bytes, now - e.arrival_unix);
    if (const std::int64_t next = next_attempt(e); next > 0) line += fmt::format("next={}\t", next);
    line += "to=" + rcpts;
    if (const auto reply = last_reply(e); !reply.empty()) line += fmt::format("\treply=\"{}\"", reply);
    return line + "\n";
}

}  // namespace

AdminReply queue_list(AdminContext& c, const AdminRequest& r) {
    if (c.mail == nullptr) return {AdminStatus::failed, "queues are not open"};
    auto entries = list_queued(*c.mail, *c.keys.snapshot(), list_max);
    if (!entries) return error_reply("queues", entries.error());
    const std::int64_t now = c.now_unix ? c.now_unix() : 0;
    std::string out;
    for (const QueuedMessage& m : *entries) out += r.json ? (out.empty() ? "" : ",") + entry_json(m, now) : entry_line(m, now);
    if (r.json) return ok("[" + out + "]\n");
    if (entries->size() >= list_max) out += fmt::format("(the first {} entries)\n", list_max);
    return ok(out.empty() ? "the queues are empty\n" : out);
}

AdminReply queue_show(AdminContext& c, const AdminRequest& r) {
    const auto id = required(r, "id");
    if (c.mail == nullptr) return {AdminStatus::failed, "queues are not open"};
    auto entry = find_queued(*c.mail, *c.keys.snapshot(), id);
    if (!entry && entry.error() == store::StoreErrc::not_found)
        return refused(fmt::format("queue id {}: no queued message has this id (see: queue list)", id));
    if (!entry) return error_reply("queues", entry.error());
    const std::int64_t now = c.now_unix ? c.now_unix() : 0;
    if (r.json) return ok(entry_json(*entry, now) + "\n");
    if (entry->error) return ok(entry_line(*entry, now));
    const store::Envelope& e = entry->envelope;
    std::string out = fmt::format("id: {}\nqueue: {}\nsender: <{}>\nsize: {}\narrival: {} ({}s ago)\nclient: {}\ntls: {}\n",
                                  entry->queue_id, queue_name(entry->kind), e.sender, entry->body_bytes, e.arrival_unix,
                                  now - e.arrival_unix, e.client_address.empty() ? "-" : e.client_address,
                                  e.tls_version.empty() ? "none" : e.tls_version + " " + e.tls_cipher);
    for (const auto& rc : e.recipients) {
        out += fmt::format("recipient: <{}> {} attempts={}", rc.address, state_name(rc.state), rc.attempts);
        if (rc.state == store::RecipientState::failed_temp) out += fmt::format(" next={}", rc.next_try_unix);
        if (!rc.reply.empty()) out += fmt::format(" reply=\"{}\"", rc.reply);
        out += "\n";
    }
    return ok(out);
}

}  // namespace vmx::admin
