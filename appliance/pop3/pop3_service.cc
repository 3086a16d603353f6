// The POP3S handler (see pop3_service.h): engine effects turned into sends, logins through the auth
// workers (throttle and Argon2id off the shard), the maildrop lock and deletions through Pop3Maildrops, RETR/TOP streamed
// chunk by chunk from the store with back-pressure. On a store shared by nodes the listing and each
// chunk are read by the store readers (store_readers.h), so the shard never waits on the cluster.
#include "appliance/pop3/pop3_service.h"

#include <ctime>
#include <optional>

#include "appliance/auth/login_flow.h"
#include "appliance/pop3/maildrop.h"
#include "appliance/mailstore/mailbox_reads.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"
#include "appliance/auth/sessions.h"
#include "core/log.h"
#include "store/errc.h"
#include "store/mailbox.h"

namespace vmx {
namespace {

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

class Pop3Handler final : public net::StreamHandler {
public:
    Pop3Handler(const Pop3Settings& settings, Pop3ShardParts parts, Shard& shard)
        : settings_(settings), parts_(parts), shard_(shard),
          session_(settings.limits, pop3::Transport{pop3::Tls::active, pop3::Stls::not_offered}, settings.advertised) {}

    void on_open(net::Stream& stream) override {
        client_ = stream.peer().host();
        if (settings_.bans != nullptr && settings_.bans->banned(client_, now_unix())) {
            log_event(LogLevel::info, "pop3.banned_refused", "client={}", client_);
            banned_ = true;  // answered once the handshake is done (POP3S is implicit TLS)
            if (stream.tls_ready()) turn_away(stream);
            return;
        }
        pop3::Effects fx;
        session_.start(fx);  // held by the stream until the handshake is done
        act(stream, fx);
    }

    std::size_t on_data(net::Stream& stream, std::string_view plain) override {
        if (banned_) return plain.size();  // turned away: nothing it says is read
        std::size_t used = 0;
        while (used < plain.size() && session_.awaiting() == pop3::Awaiting::input && !stream.closing()) {
            pop3::Effects fx;
            const std::size_t n = session_.feed(plain.substr(used), fx);
            used += n;
            act(stream, fx);
            if (n == 0) break;
            if (stream.send_queue_full() && !stream.closing()) {  // a client pipelining faster than it reads
                waiting_writable_ = true;
                stream.want_writable();
                break;
            }
        }
        return used;
    }

    void on_tls_started(net::Stream& stream, const net::TlsInfo& info) override {
        tls_version_ = info.version;
        if (banned_) turn_away(stream);
    }

    // RFC 3206's SYS/TEMP: the client may try later, and says so to its user.
    static void turn_away(net::Stream& stream) {
        (void)stream.send("-ERR [SYS/TEMP] too many failed logins from your address, try again later\r\n");
        stream.close(CloseMode::after_flush);
    }

    void on_writable(net::Stream& stream) override {
        if (!waiting_writable_) return;
        waiting_writable_ = false;
        if (reader_) return pump_body(stream);
        if (session_.awaiting() == pop3::Awaiting::writable) return advance(stream);
        stream.redeliver();
    }

    void on_timeout(net::Stream& stream, TimeoutKind) override {
        pop3::Effects fx;
        session_.on_timeout(fx);
        act(stream, fx);
    }

    void on_drain(net::Stream& stream) override {
        pop3::Effects fx;
        session_.on_drain(fx);
        act(stream, fx);
    }

    // A dropped connection deletes nothing: the lock is given back, the session forgotten.
    void on_close(net::Stream&) override {
        *alive_ = false;
        session_.on_close();
        reader_.reset();
        if (session_id_) parts_.sessions->remove(*session_id_);
        if (lock_token_) parts_.maildrops->release(user_id_, *lock_token_);
        if (session_started_)
            log_event(LogLevel::info, "pop3.session", "user={} client={} shard={} owner_shard={} retrieved={} deleted={}",
                      user_id_, client_, shard_.id(), store::owner_shard(box_.segment, shard_.shard_count()), retrieved_,
                      deleted_);
    }

private:
    // ---- effects ----------------------------------------------------------------------------

    void act(net::Stream& stream, pop3::Effects& fx) {
        // A session that ends (QUIT after its UPDATE, or an error) gives its maildrop back before
        // its last reply goes out, not when the connection is gone: a client that reconnects as
        // soon as it reads +OK must find the maildrop free.
        if (fx.close && lock_token_) {
            parts_.maildrops->release(user_id_, *lock_token_);
            lock_token_.reset();
        }
        if (!fx.replies.empty()) {
            if (auto sent = stream.send(fx.replies); !sent) {
                stream.close(CloseMode::now);  // a client that does not read its replies
                return;
            }
        }
        if (fx.close || fx.start_tls) {  // STLS is never offered on the implicit-TLS port
            stream.close(CloseMode::after_flush);
            return;
        }
        if (fx.auth) return begin_auth(stream, std::move(*fx.auth));
        if (fx.body) return begin_body(stream, *fx.body);
        if (!fx.expunge.empty()) return begin_update(stream, std::move(fx.expunge));
        advance(stream);
    }

    // A long listing goes out batch by batch as the send queue drains.
    void advance(net::Stream& stream) {
        if (session_.awaiting() != pop3::Awaiting::writable || stream.closing()) return;
        if (stream.send_queue_full()) {
            waiting_writable_ = true;
            stream.want_writable();
            return;
        }
        pop3::Effects fx;
        session_.on_writable(fx);
        act(stream, fx);
        if (session_.awaiting() == pop3::Awaiting::input) stream.redeliver();
    }

    // Runs fn(stream) later on this shard if the connection is still there.
    template <class Fn>
    void later(net::Stream& stream, std::uint64_t delay_ms, Fn fn) {
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        shard_.schedule(delay_ms, [alive, s, fn](Shard&) {
            if (auto a = alive.lock(); a && *a) fn(*s);
        });
    }

    void resume(net::Stream& stream, pop3::Effects& fx) {
        act(stream, fx);
        if (session_.awaiting() == pop3::Awaiting::input) stream.redeliver();  // pipelined commands
    }

    // ---- authentication ---------------------------------------------------------------------

    void answer_auth(net::Stream& stream, pop3::AuthOutcome outcome, std::uint64_t delay_ms = 0) {
        if (delay_ms > 0) {
            return later(stream, delay_ms, [this, outcome](net::Stream& s) { answer_auth(s, outcome); });
        }
        pop3::Effects fx;
        session_.on_auth_result(outcome, fx);
        resume(stream, fx);
    }

    void begin_auth(net::Stream& stream, pop3::AuthRequest request) {
        LoginRequest login;
        login.name = std::move(request.username);
        login.secret = std::move(request.secret);
        login.protocol = "pop3";
        login.client_ip = client_;
        login.tls_version = tls_version_;
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        parts_.login->login(std::move(login), [this, alive, s](LoginVerdict verdict) {
            if (auto a = alive.lock(); !a || !*a) return;
            logged_in(*s, std::move(verdict));
        });
    }

    static pop3::AuthOutcome answer_for(LoginOutcome outcome) {
        switch (outcome) {
            case LoginOutcome::ok: return pop3::AuthOutcome::ok;
            case LoginOutcome::bad_credentials: return pop3::AuthOutcome::bad_credentials;
            case LoginOutcome::temp_failure: return pop3::AuthOutcome::temp_failure;
            case LoginOutcome::disabled: return pop3::AuthOutcome::disabled;
            case LoginOutcome::policy_denied: return pop3::AuthOutcome::policy_denied;
        }
        return pop3::AuthOutcome::temp_failure;
    }

    // A login that passed takes the maildrop lock on the mailbox's owner shard before the session.
    void logged_in(net::Stream& stream, LoginVerdict verdict) {
        if (verdict.outcome != LoginOutcome::ok) return answer_auth(stream, answer_for(verdict.outcome), verdict.delay_ms);
        const Account& account = *verdict.account;
        user_id_ = account.user.id;  // the record (with its hashes) is not kept for the session
        box_ = account.mailbox;
        const std::uint32_t session_max_s = account.org.policy.session_max_s;
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        lock_answered_ = false;
        lock_granted_ = false;
        const std::uint64_t token = parts_.maildrops->acquire(user_id_, [this, alive, s, session_max_s](LockOutcome o) {
            if (auto a = alive.lock(); !a || !*a) return;  // on_close released the token already
            locked(*s, o, session_max_s);
        });
        // The owner may have answered already (it is this shard); a refusal needs no release.
        if (!lock_answered_ || lock_granted_) lock_token_ = token;
    }

    void locked(net::Stream& stream, LockOutcome outcome, std::uint32_t session_max_s) {
        lock_answered_ = true;
        lock_granted_ = outcome == LockOutcome::granted;
        if (!lock_granted_) {
            lock_token_.reset();
            return answer_auth(stream, outcome == LockOutcome::in_use ? pop3::AuthOutcome::in_use
                                                                      : pop3::AuthOutcome::temp_failure);
        }
        start_session(stream, session_max_s);
    }

    void start_session(net::Stream& stream, std::uint32_t session_max_s) {
        session_started_ = true;
        SessionInfo info;
        info.user_id = user_id_;
        info.protocol = "pop3";
        info.client_ip = client_;
        info.tls_version = tls_version_;
        info.started_unix = now_unix();
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        // Remote logout: the session ends at once, with nothing deleted.
        session_id_ = parts_.sessions->add(std::move(info), [this, alive, s] {
            if (auto a = alive.lock(); !a || !*a) return;
            session_id_.reset();  // ShardSessions removed it already
            logout(*s, pop3::LogoutReason::admin);
        });
        if (session_max_s > 0)
            later(stream, std::uint64_t{session_max_s} * 1000, [this](net::Stream& st) { logout(st, pop3::LogoutReason::session_limit); });
        pop3::Effects fx;
        session_.on_auth_result(pop3::AuthOutcome::ok, fx);
        act(stream, fx);
        list_maildrop(stream);
    }

    void logout(net::Stream& stream, pop3::LogoutReason reason) {
        reader_.reset();
        pop3::Effects fx;
        session_.on_logout(reason, fx);
        act(stream, fx);
        if (!stream.closing()) stream.close(CloseMode::after_flush);
    }

    // The listing at authentication (RFC 1939: the maildrop as it was when the session began).
    void list_maildrop(net::Stream& stream) {
        const bool queued = read_then(
            parts_.reads,
            [view = store_view(*parts_.store), keys = parts_.store->keys_snapshot(), box = box_] {
                return list_mailbox(view, *keys, box);
            },
            [this, alive = std::weak_ptr<bool>(alive_), s = &stream](Result<std::vector<store::MessageInfo>> messages) {
                if (auto a = alive.lock(); a && *a) listed(*s, std::move(messages));
            });
        if (!queued) listed(stream, fail(store::StoreErrc::queue_full));
    }

    void listed(net::Stream& stream, Result<std::vector<store::MessageInfo>> messages) {
        pop3::Effects fx;
        if (!messages) {
            log_event(LogLevel::warn, "pop3.listing_failed", "user={} error=\"{}\"", user_id_, messages.error().message());
            session_.on_maildrop_failed(fx);
            return resume(stream, fx);
        }
        std::vector<pop3::MessageInfo> out;
        out.reserve(messages->size());
        for (auto& m : *messages) out.push_back({m.id, m.size_bytes, std::move(m.uidl)});
        session_.on_maildrop(std::move(out), fx);
        resume(stream, fx);
    }

    // ---- RETR / TOP ---------------------------------------------------------------------------

    void begin_body(net::Stream& stream, const pop3::BodyRequest& request) {
        const bool queued = read_then(
            parts_.reads,
            [view = store_view(*parts_.store), keys = parts_.store->keys_snapshot(), box = box_, id = request.message_id] {
                return BodyPump::open(view, *keys, box, id);
            },
            [this, alive = std::weak_ptr<bool>(alive_), s = &stream](Result<BodyPump> pump) {
                if (auto a = alive.lock(); a && *a) opened(*s, std::move(pump));
            });
        if (!queued) opened(stream, fail(store::StoreErrc::queue_full));
    }

    void opened(net::Stream& stream, Result<BodyPump> pump) {
        if (!pump) {
            pop3::Effects fx;
            session_.on_body_failed(fx);
            return resume(stream, fx);
        }
        reader_ = std::make_shared<BodyPump>(std::move(*pump));
        ++retrieved_;
        pump_body(stream);
    }

    // One store chunk per turn until the send queue is full; on_writable continues. Each chunk takes
    // its own short read transaction, so a slow client never pins an LMDB snapshot. On a shared
    // store a chunk is read by a store reader and its answer continues the loop.
    void pump_body(net::Stream& stream) {
        while (reader_ && !reading_ && !stream.closing()) {
            if (stream.send_queue_full()) {
                waiting_writable_ = true;
                stream.want_writable();
                return;
            }
            if (parts_.reads != nullptr) return read_chunk(stream);
            take_chunk(stream, reader_->next(parts_.store->keys()));
        }
    }

    // The pump belongs to the reader while `reading_`; the answer hands it back (a logout meanwhile
    // dropped the session's share of it).
    void read_chunk(net::Stream& stream) {
        reading_ = true;
        BodyPump* pump = reader_.get();
        const bool queued = parts_.reads->read(
            [shared = reader_, keys = parts_.store->keys_snapshot()] { return shared->next(*keys); },
            [this, alive = std::weak_ptr<bool>(alive_), s = &stream, pump](Result<std::optional<std::vector<std::uint8_t>>> chunk) {
                if (auto a = alive.lock(); !a || !*a) return;
                reading_ = false;
                if (reader_.get() != pump) return;
                take_chunk(*s, std::move(chunk));
                pump_body(*s);
            });
        if (!queued) {
            reading_ = false;
            take_chunk(stream, fail(store::StoreErrc::queue_full));
        }
    }

    void take_chunk(net::Stream& stream, Result<std::optional<std::vector<std::uint8_t>>> chunk) {
        pop3::Effects fx;
        if (!chunk || !*chunk) {
            if (!chunk) log_event(LogLevel::warn, "pop3.body_failed", "user={} error=\"{}\"", user_id_, chunk.error().message());
            const bool failed = !chunk;
            reader_.reset();
            if (failed) session_.on_body_failed(fx);
            else session_.on_body_end(fx);
            return resume(stream, fx);
        }
        const auto& bytes = **chunk;
        session_.on_body_chunk(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), fx);
        if (fx.body_enough) {  // TOP has its lines
            reader_.reset();
            session_.on_body_end(fx);
            return resume(stream, fx);
        }
        act(stream, fx);
    }

    // ---- UPDATE -------------------------------------------------------------------------------

    // The +OK of QUIT waits for the owner shard's durable outcome.
    void begin_update(net::Stream& stream, std::vector<std::uint64_t> ids) {
        const std::size_t count = ids.size();
        std::weak_ptr<bool> alive = alive_;
        net::Stream* s = &stream;
        parts_.maildrops->expunge(box_, std::move(ids), [this, alive, s, count](bool ok) {
            if (auto a = alive.lock(); !a || !*a) return;
            if (ok) deleted_ += count;
            pop3::Effects fx;
            session_.on_update_done(ok ? pop3::UpdateResult::ok : pop3::UpdateResult::failed, fx);
            act(*s, fx);
        });
    }

    const Pop3Settings& settings_;
    const Pop3ShardParts parts_;
    Shard& shard_;
    pop3::Session session_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::string client_;
    bool banned_ = false;  // the address is banned: refused once TLS is up, nothing read
    std::string tls_version_;
    std::uint64_t user_id_ = 0;
    store::MailboxRef box_;
    std::optional<std::uint64_t> lock_token_;
    std::optional<std::uint64_t> session_id_;
    bool lock_answered_ = false;
    bool lock_granted_ = false;
    std::shared_ptr<BodyPump> reader_;  // shared with a store reader while `reading_`
    bool reading_ = false;              // a chunk is being read off the shard
    bool waiting_writable_ = false;
    bool session_started_ = false;
    std::uint64_t retrieved_ = 0;
    std::uint64_t deleted_ = 0;
};

}  // namespace

ServiceFactory pop3_service_factory(const Pop3Settings& settings, Pop3PartsOf parts_of) {
    net::StreamOptions options;
    options.tls_mode = net::TlsMode::implicit;
    options.tls = settings.tls;
    options.tls_slot = settings.tls_slot;
    const Pop3Settings* p = &settings;
    return net::stream_service_factory(options, [p, parts_of = std::move(parts_of)](net::Stream& stream) -> std::unique_ptr<net::StreamHandler> {
        Shard& shard = stream.connection().shard();
        return std::make_unique<Pop3Handler>(*p, parts_of(shard), shard);
    });
}

}  // namespace vmx
