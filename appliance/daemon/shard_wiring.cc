// The shard side of the daemon's composition (see shard_wiring.h).
#include "appliance/daemon/shard_wiring.h"

#include <array>
#include <ctime>

#include "appliance/common/message_kinds.h"
#include "appliance/common/messages.h"
#include "appliance/mailstore/mailbox_export.h"
#include "appliance/mailstore/mailbox_headers.h"
#include "core/log.h"
#include "store/errc.h"

namespace vmx {
namespace {

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

// ---- the handlers of messages that reach a shard ------------------------------------------------

void on_delivery(Shard& shard, Message& m) { ShardContext::of(shard).delivery->on_message(m); }

void on_keys_updated(Shard& shard, Message& m) {
    if (!m.payload) return;
    ShardContext::of(shard).store->set_keys(std::move(static_cast<KeysUpdated*>(m.payload.get())->keys));
}

void on_mailbox_restore(Shard& shard, Message& m) {
    if (!m.payload) return;
    auto* request = static_cast<MailboxRestore*>(m.payload.get());
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    c.writes->restore(request->box, request->message_id, [&c, from, token](Result<std::uint64_t> r) {
        auto reply = std::make_unique<MailboxRestored>();
        if (!r) reply->error = r.error();
        Message done;
        done.payload = std::move(reply);
        c.calls->reply(from, token, std::move(done));
    });
}

// A step of a closed account's purge; with its last message goes its staged export, if any.
void on_mailbox_erase(Shard& shard, Message& m) {
    if (!m.payload) return;
    auto* request = static_cast<MailboxEraseStep*>(m.payload.get());
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    const store::MailboxRef box = request->box;
    c.writes->erase(box, request->messages_max, [&c, from, token, box](Result<std::uint64_t> r) {
        const std::error_code error = r ? std::error_code() : r.error();
        const std::uint64_t remaining = r ? *r : 0;
        auto answer = [&c, from, token, error, remaining](std::error_code staged_error) {
            auto reply = std::make_unique<MailboxEraseDone>();
            reply->error = error ? error : staged_error;
            reply->remaining = remaining;
            Message done;
            done.payload = std::move(reply);
            c.calls->reply(from, token, std::move(done));
        };
        if (error || remaining > 0 || !c.exports) return answer({});
        c.exports->discard(box, answer);
    });
}

// A step of the admin's reads of a mailbox (an export's piece, the support view's rows): the state
// came in the step and goes back in it. On a shared store a store reader fills it, the step's
// payload riding along; readers saturated: the step fails (the admin runs the command again).
template <class Step, class Fill>
void fill_step(ShardContext& c, Message& m, Fill fill) {
    auto reply = [&c, from = m.from, token = m.token](std::unique_ptr<MessagePayload> payload) {
        Message done;
        done.payload = std::move(payload);
        c.calls->reply(from, token, std::move(done));
    };
    auto payload = std::make_shared<std::unique_ptr<MessagePayload>>(std::move(m.payload));
    const bool queued = read_then(
        c.reads.get(),
        [payload, fill, view = store_view(*c.store), keys = c.store->keys_snapshot()] {
            fill(static_cast<Step&>(**payload), view, *keys);
            return true;
        },
        [payload, reply](bool) { reply(std::move(*payload)); });
    if (queued) return;
    static_cast<Step&>(**payload).error = make_error_code(store::StoreErrc::queue_full);
    reply(std::move(*payload));
}

// One piece of a user export.
void on_mailbox_export(Shard& shard, Message& m) {
    auto* step = dynamic_cast<MailboxExportStep*>(m.payload.get());
    if (step == nullptr || step->state == nullptr) return;
    fill_step<MailboxExportStep>(ShardContext::of(shard), m, [](MailboxExportStep& s, const MailStoreView& view,
                                                                const crypto::KeySet& keys) {
        s.piece.clear();
        if (auto filled = s.state->fill(view, keys, s.piece, export_piece_bytes); !filled) s.error = filled.error();
    });
}

// A staged export's prepare, status, read or discard (the portal's): answered with the call filled in.
void on_staged_export(Shard& shard, Message& m) {
    if (dynamic_cast<StagedExportCall*>(m.payload.get()) == nullptr) return;
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    std::unique_ptr<StagedExportCall> call(static_cast<StagedExportCall*>(m.payload.release()));
    c.exports->on_call(std::move(call), [&c, from, token](std::unique_ptr<StagedExportCall> answered) {
        Message done;
        done.payload = std::move(answered);
        c.calls->reply(from, token, std::move(done));
    });
}

// A step of `support mailbox`.
void on_mailbox_headers(Shard& shard, Message& m) {
    auto* step = dynamic_cast<MailboxHeadersStep*>(m.payload.get());
    if (step == nullptr || step->state == nullptr) return;
    fill_step<MailboxHeadersStep>(ShardContext::of(shard), m, [](MailboxHeadersStep& s, const MailStoreView& view,
                                                                 const crypto::KeySet& keys) {
        if (auto filled = s.state->fill(view, keys, support_messages_per_step); !filled) s.error = filled.error();
    });
}

void on_reply(Shard& shard, Message& m) { ShardContext::of(shard).calls->on_reply(m); }

void on_rewrap_start(Shard& shard, Message& m) {
    if (!m.payload) return;
    ShardContext::of(shard).rewrap->start(static_cast<RewrapStart*>(m.payload.get())->name);
}

void on_logout_user(Shard& shard, Message& m) {
    const std::size_t ended = ShardContext::of(shard).sessions->logout(m.a);
    if (ended > 0) log_event(LogLevel::info, "session.logout", "user={} sessions={}", m.a, ended);
}

// One session ends, if it is the user's (a = user, b = session).
void on_logout_session(Shard& shard, Message& m) {
    if (ShardContext::of(shard).sessions->end(m.a, m.b)) log_event(LogLevel::info, "session.logout", "user={} sessions=1", m.a);
}

// A portal sign-in, through this shard's login flow (throttle, bans, history); the throttle's hold
// is kept here, before the answer leaves.
void on_portal_login(Shard& shard, Message& m) {
    auto* call = dynamic_cast<PortalLoginCall*>(m.payload.get());
    if (call == nullptr) return;
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    c.login->login(std::move(call->request), [&shard, &c, from, token](LoginVerdict verdict) {
        const std::uint64_t hold_ms = verdict.delay_ms;
        auto answer = [&c, from, token, verdict = std::move(verdict)](Shard&) mutable {
            auto reply = std::make_unique<PortalLoginAnswer>();
            reply->verdict = std::move(verdict);
            Message done;
            done.payload = std::move(reply);
            c.calls->reply(from, token, std::move(done));
        };
        if (hold_ms == 0) return answer(shard);
        shard.schedule(hold_ms, std::move(answer));
    });
}

void on_pop3(Shard& shard, Message& m) { ShardContext::of(shard).maildrops->on_message(m); }

void on_submission_rate(Shard& shard, Message& m) { ShardContext::of(shard).rates->on_message(m); }

void on_relay_auth(Shard& shard, Message& m) {
    if (!m.payload) return;
    ShardContext::of(shard).agent->set_relay_auth(static_cast<RelayAuthUpdated*>(m.payload.get())->auth);
}

void on_queue_action(Shard& shard, Message& m) {
    if (!m.payload) return;
    const QueueAction request = *static_cast<QueueAction*>(m.payload.get());
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    auto answer = [&c, from, token](std::error_code error, std::size_t entries) {
        auto reply = std::make_unique<QueueActionDone>();
        reply->error = error;
        reply->entries = entries;
        Message done;
        done.payload = std::move(reply);
        c.calls->reply(from, token, std::move(done));
    };
    if (request.remove) return c.agent->remove(request.segment, request.entry_id, [answer](std::error_code e) { answer(e, 1); });
    std::optional<std::pair<std::uint32_t, std::uint64_t>> only;
    if (!request.all) only = std::make_pair(request.segment, request.entry_id);
    answer({}, c.agent->retry(only));
}

void on_notice_mail(Shard& shard, Message& m) {
    if (!m.payload) return;
    auto* request = static_cast<NoticeMail*>(m.payload.get());
    ShardContext& c = ShardContext::of(shard);
    const std::uint32_t from = m.from;
    const std::uint64_t token = m.token;
    c.notices->send(std::move(request->to), std::move(request->subject), std::move(request->lines),
                    [&c, from, token](bool queued, const std::string& queue_id) {
                        auto reply = std::make_unique<NoticeMailed>();
                        reply->queued = queued;
                        reply->queue_id = queue_id;
                        Message done;
                        done.payload = std::move(reply);
                        c.calls->reply(from, token, std::move(done));
                    });
}

using Handler = void (*)(Shard&, Message&);
struct Route {
    AppMessage kind;
    Handler handler;
};

// The one table: every kind a shard receives, and who handles it. Kinds only the control thread
// receives (session_started, login_attempt, ...) have no row here.
constexpr std::array kShardRoutes{
    Route{AppMessage::keys_updated, on_keys_updated},
    Route{AppMessage::mailbox_restore, on_mailbox_restore},
    Route{AppMessage::logout_user, on_logout_user},
    Route{AppMessage::logout_session, on_logout_session},
    Route{AppMessage::portal_login, on_portal_login},
    Route{AppMessage::deliver, on_delivery},
    Route{AppMessage::pop3_lock, on_pop3},
    Route{AppMessage::pop3_unlock, on_pop3},
    Route{AppMessage::pop3_expunge, on_pop3},
    Route{AppMessage::rewrap_start, on_rewrap_start},
    Route{AppMessage::submission_rate, on_submission_rate},
    Route{AppMessage::queue_action, on_queue_action},
    Route{AppMessage::relay_auth, on_relay_auth},
    Route{AppMessage::notice_mail, on_notice_mail},
    Route{AppMessage::mailbox_export, on_mailbox_export},
    Route{AppMessage::mailbox_erase, on_mailbox_erase},
    Route{AppMessage::mailbox_headers, on_mailbox_headers},
    Route{AppMessage::staged_export, on_staged_export},
    Route{AppMessage::reply, on_reply},
};

constexpr std::array<Handler, app_message_count + 1> make_shard_table() {
    std::array<Handler, app_message_count + 1> table{};
    for (const Route& r : kShardRoutes) table[app_message_index(message_kind(r.kind))] = r.handler;
    return table;
}
constexpr auto kShardTable = make_shard_table();

}  // namespace

Result<std::unique_ptr<ShardLocal>> ShardBuilder::operator()(Shard& shard) const {
    auto shard_store = ShardStore::open(shard, all_envs, handles, store_options, first_keys);
    if (!shard_store) return fail(shard_store.error());
    auto context = std::make_unique<ShardContext>();
    context->smtp_timings = std::make_unique<SmtpTimings>();
    context->store = std::move(*shard_store);
    if (store_readers != nullptr) context->reads = std::make_unique<ShardReads>(shard, *store_readers);
    context->writes = std::make_unique<MailboxWrites>(*context->store, writes_options, context->reads.get());
    context->exports = std::make_unique<ExportStaging>(shard, *context->store, ExportStagingOptions{});
    context->calls = std::make_unique<ShardCalls>(shard, reply_retry_max_ms);
    context->delivery = std::make_unique<LocalDelivery>(shard, *context->store, *context->writes, directory,
                                                        *context->calls, delivery_options, context->reads.get());
    const std::uint32_t outbound_service = shard.add_service(std::make_unique<OutboundService>());
    context->agent = std::make_unique<DeliveryAgent>(shard, *context->store, outbound_service, outbound_options);
    (void)context->agent->start();  // without DNS, routes to literals still work; said in the log
    context->outbound = std::make_unique<OutboundQueue>(*context->store, *context->agent);
    context->bouncer = std::make_unique<Bouncer>(*context->store, directory, *context->delivery, *context->outbound,
                                                 bounce_options, context->reads.get());
    context->notices = std::make_unique<NoticeMailer>(*context->store, directory, *context->delivery, *context->outbound,
                                                      bounce_options.reporting_mta, context->reads.get());
    Bouncer* bouncer = context->bouncer.get();
    auto bounce = [bouncer](const FailedDelivery& f, BounceDone done) { bouncer->bounce(f, std::move(done)); };
    context->agent->set_bounce_hook(bounce);
    context->delivery->set_bounce_hook(bounce);
    context->rates = std::make_unique<SendingRates>(shard, *context->calls, context->store->segment_count(), now_unix);
    context->sessions = std::make_unique<ShardSessions>(shard);
    context->rewrap = std::make_unique<RewrapRunner>(shard, *context->store, directory);
    TrashPurgeOptions purge;
    purge.retention_s = trash_retention_s;
    purge.interval_ms = store_options.sweep_interval_ms;
    context->trash_purge = std::make_unique<TrashPurge>(*context->store, *context->writes, directory, purge,
                                                        context->reads.get());
    context->trash_purge->start();
    context->marker_cleanup = std::make_unique<MarkerCleanup>(*context->store, marker_cleanup_options, context->reads.get());
    context->marker_cleanup->start();
    context->auth = std::make_unique<ShardAuth>(shard, auth_workers);
    context->mailauth = std::make_unique<ShardMailAuth>(shard, mailauth_workers);
    context->mx_checks = mx_checks;
    context->login = std::make_unique<LoginFlow>(directory, *context->store, context->reads.get(), *context->auth,
                                                 *context->sessions, now_unix);
    context->maildrops =
        std::make_unique<Pop3Maildrops>(shard, *context->store, *context->writes, *context->calls, maildrop_leases);
    // Hand-offs left by the last run go out at the first turn of the loop, when every shard can
    // receive them.
    LocalDelivery* delivery = context->delivery.get();
    OutboundQueue* outbound = context->outbound.get();
    shard.schedule(0, [delivery, outbound](Shard&) {
        delivery->recover();
        outbound->recover();
    });
    return std::unique_ptr<ShardLocal>(std::move(context));
}

SmtpShardParts smtp_parts_of(Shard& shard) {
    ShardContext& c = ShardContext::of(shard);
    return {c.delivery.get(), c.store.get(), c.reads.get(), c.mx_checks ? c.mailauth.get() : nullptr, c.smtp_timings.get()};
}

Pop3ShardParts pop3_parts_of(Shard& shard) {
    ShardContext& c = ShardContext::of(shard);
    return {c.sessions.get(), c.maildrops.get(), c.login.get(), c.store.get(), c.reads.get()};
}

SubmissionShardParts submission_parts_of(Shard& shard) {
    ShardContext& c = ShardContext::of(shard);
    return {c.delivery.get(), c.outbound.get(), c.store.get(), c.reads.get(), c.login.get(), c.sessions.get(), c.rates.get(),
            c.mailauth.get(), c.smtp_timings.get()};
}

void on_shard_message(Shard& shard, Message& m) {
    if (Handler h = kShardTable[app_message_index(m.kind)]) return h(shard, m);
    log_event(LogLevel::warn, "shard.message_unrouted", "kind={} from={}", static_cast<std::uint32_t>(m.kind), m.from);
}

}  // namespace vmx
