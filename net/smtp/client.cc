// The SMTP client engine: reply reader, greeting/EHLO/STARTTLS, the transaction of one message.
// Pure (no I/O, clock or logging); the delivery agent's thread only. Invariants: a reply is acted
// on only when complete and expected; after the 220 to STARTTLS nothing more is read; a message in
// flight ends in exactly one done, whatever ends the session; a failed session refuses further use.
#include "net/smtp/client.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/assert.h"
#include "net/sasl/sasl_client.h"
#include "net/smtp/client_text.h"

namespace vmx::smtp {
namespace {

using Phase = Client::Phase;

int code_class(const Reply& r) noexcept { return r.code / 100; }

Reply made_up(int code, std::string text) { return Reply{code, std::move(text), ReplyFrom::client}; }

DeliveryStatus status_of(const Reply& r) noexcept {
    switch (code_class(r)) {
        case 2: return DeliveryStatus::accepted;
        case 5: return DeliveryStatus::perm_failure;
        default: return DeliveryStatus::temp_failure;
    }
}

bool tls_required(TlsPolicy p) noexcept { return p == TlsPolicy::encrypt || p == TlsPolicy::verify; }

}  // namespace

Client::Client(const ClientLimits& limits, ClientOptions options) : limits_(limits), options_(std::move(options)) {
    VMX_ASSERT(limits_.reply_line_bytes_max >= 512 && limits_.reply_lines_max >= 1);
    VMX_ASSERT(limits_.line_bytes_max >= 64 && limits_.recipients_max >= 1);
    VMX_ASSERT(!options_.helo.empty() && options_.helo.find_first_of("\r\n ") == std::string::npos);
}

std::size_t Client::feed(std::string_view input, ClientEffects& out) {
    std::size_t used = 0;
    while (used < input.size()) {
        // Closed, or the plaintext before the handshake (CVE-2021-38371): dropped unread.
        if (phase_ == Phase::closed || phase_ == Phase::tls_wait) return input.size();
        const std::string_view rest = input.substr(used);
        const std::size_t window = std::min(rest.size(), limits_.reply_line_bytes_max);
        const void* lf_at = std::memchr(rest.data(), '\n', window);
        if (lf_at == nullptr) {
            if (rest.size() < limits_.reply_line_bytes_max) return used;  // the caller holds the partial line
            protocol_error("reply line too long", out);
            return input.size();
        }
        const auto lf = static_cast<std::size_t>(static_cast<const char*>(lf_at) - rest.data());
        std::string_view line = rest.substr(0, lf);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // a bare LF is tolerated from servers
        used += lf + 1;
        read_line(line, out);
        if (phase_ == Phase::tls_wait) break;  // the caller drops the rest
    }
    return used;
}

// One reply line: "NNN-text" continues a reply, "NNN text" or "NNN" ends it (RFC 5321 4.2.1).
void Client::read_line(std::string_view line, ClientEffects& out) {
    const bool digits = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
                        line[2] >= '0' && line[2] <= '9';
    const char separator = line.size() > 3 ? line[3] : ' ';
    if (!digits || (separator != ' ' && separator != '-')) return protocol_error("malformed reply", out);
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (reply_lines_ > 0 && code != reply_code_) return protocol_error("inconsistent codes in a multiline reply", out);
    if (reply_lines_ == limits_.reply_lines_max) return protocol_error("too many reply lines", out);
    if (reply_lines_ > 0) reply_text_ += '\n';
    reply_text_.append(line.substr(std::min<std::size_t>(line.size(), 4)));
    reply_code_ = code;
    ++reply_lines_;
    if (separator == '-') return;
    const Reply reply{code, detail::clean_reply_text(reply_text_), ReplyFrom::server};
    on_reply(reply, out);
    reset_reader();
}

void Client::on_reply(const Reply& reply, ClientEffects& out) {
    // RFC 5321 3.8: 421 may come at any time; the server closes.
    if (reply.code == 421) return end_session(reply, Farewell::silent, out);
    switch (phase_) {
        case Phase::greeting: return on_greeting(reply, out);
        case Phase::ehlo: return on_ehlo(reply, out);
        case Phase::helo: return on_helo(reply, out);
        case Phase::starttls: return on_starttls(reply, out);
        case Phase::auth: return on_auth(reply, out);
        case Phase::transaction: return on_step(reply, out);
        case Phase::dot: return on_dot(reply, out);
        case Phase::ready:
        case Phase::tls_wait:
        case Phase::closed: break;
    }
    protocol_error("reply when none was expected", out);
}

void Client::on_greeting(const Reply& reply, ClientEffects& out) {
    // RFC 5321 3.1: after a 554 greeting the server waits for QUIT.
    if (code_class(reply) != 2) return end_session(reply, Farewell::quit, out);
    out.commands += "EHLO " + options_.helo + "\r\n";
    phase_ = Phase::ehlo;
}

void Client::on_ehlo(const Reply& reply, ClientEffects& out) {
    if (code_class(reply) == 5) {  // RFC 5321 3.2: an old server; HELO, and no extensions
        out.commands += "HELO " + options_.helo + "\r\n";
        phase_ = Phase::helo;
        return;
    }
    if (code_class(reply) != 2) return end_session(reply, Farewell::quit, out);
    extensions_ = Extensions{};
    std::string_view lines = reply_text_;
    std::size_t nl = lines.find('\n');  // the first line is the server's name
    while (nl != std::string_view::npos) {
        lines.remove_prefix(nl + 1);
        nl = lines.find('\n');
        detail::read_ehlo_keyword(lines.substr(0, nl), extensions_);
    }
    after_hello(out);
}

void Client::on_helo(const Reply& reply, ClientEffects& out) {
    if (code_class(reply) != 2) return end_session(reply, Farewell::quit, out);
    extensions_ = Extensions{};
    after_hello(out);
}

// Greeted: STARTTLS if offered and wanted, refuse to go on in plaintext if TLS is required.
void Client::after_hello(ClientEffects& out) {
    if (!tls_active_ && options_.tls != TlsPolicy::none && options_.tls_possible && extensions_.starttls) {
        out.commands += "STARTTLS\r\n";
        phase_ = Phase::starttls;
        return;
    }
    if (!tls_active_ && tls_required(options_.tls)) {
        return end_session(made_up(421, options_.tls_possible
                                            ? "4.7.4 TLS is required, but the server did not offer STARTTLS"
                                            : "4.7.5 TLS is required, but the handshake with the server failed"),
                           Farewell::quit, out);
    }
    begin_auth(out);
}

void Client::on_starttls(const Reply& reply, ClientEffects& out) {
    if (code_class(reply) == 2) {
        out.start_tls = true;
        phase_ = Phase::tls_wait;
        return;
    }
    if (tls_required(options_.tls)) {
        const std::string text = "4.7.4 TLS is required, but STARTTLS was refused: " + std::to_string(reply.code) + " " + reply.text;
        return end_session(made_up(421, text), Farewell::quit, out);
    }
    begin_auth(out);  // opportunistic: plaintext it is (RFC 7435)
}

// Greeted, with TLS if there is to be TLS: AUTH when a credential is set, else ready. The
// credential never goes out in plaintext unless the caller said so: under TlsPolicy none or may a
// server that does not offer STARTTLS (or an attacker who strips it) would otherwise be handed the
// password. PLAIN first (one round trip with the initial response, RFC 4954 4), else LOGIN.
void Client::begin_auth(ClientEffects& out) {
    if (!options_.auth) {
        phase_ = Phase::ready;
        return;
    }
    const ClientAuth& auth = *options_.auth;
    if (!tls_active_ && !options_.auth_without_tls)
        return end_session(made_up(454, "4.7.0 TLS required for AUTH: the credential was not sent"), Farewell::quit, out);
    if (!sasl::plain_sendable(auth.username, auth.password))
        return end_session(made_up(454, "4.7.0 the AUTH credential is unusable (an empty user name or a NUL byte)"),
                           Farewell::quit, out);
    if (extensions_.offers_auth("PLAIN")) {
        out.commands += "AUTH PLAIN ";
        sasl::plain_response(auth.username, auth.password, out.commands);
        out.commands += "\r\n";
        auth_step_ = AuthStep::plain;
    } else if (extensions_.offers_auth("LOGIN")) {
        out.commands += "AUTH LOGIN\r\n";
        auth_step_ = AuthStep::login;
    } else {
        return end_session(made_up(454, "4.7.0 server offers no usable AUTH mechanism (PLAIN or LOGIN)"), Farewell::quit, out);
    }
    phase_ = Phase::auth;
}

// 235: authenticated. 334: LOGIN's next response (its challenge text, "Username:" or
// "Password:", is not relied on: servers word it differently). A refusal ends the session with the
// server's reply; the queue retries later, as for any session failure.
void Client::on_auth(const Reply& reply, ClientEffects& out) {
    const int klass = code_class(reply);
    if (klass == 2) {
        phase_ = Phase::ready;
        return;
    }
    if (klass == 4 || klass == 5) return end_session(reply, Farewell::quit, out);
    if (reply.code != 334) return protocol_error("unexpected 3xx reply to AUTH", out);
    const ClientAuth& auth = *options_.auth;
    switch (auth_step_) {
        case AuthStep::login: {
            const auto* name = reinterpret_cast<const std::uint8_t*>(auth.username.data());
            sasl::base64_encode({name, auth.username.size()}, out.commands);
            out.commands += "\r\n";
            auth_step_ = AuthStep::login_username;
            return;
        }
        case AuthStep::login_username:
            sasl::base64_encode(auth.password.view(), out.commands);
            out.commands += "\r\n";
            auth_step_ = AuthStep::login_password;
            return;
        case AuthStep::plain:  // RFC 4954 4: an initial response was sent; a challenge now is an error
        case AuthStep::login_password: break;
    }
    protocol_error("334 when the AUTH exchange was complete", out);
}

void Client::on_tls_started(ClientEffects& out) {
    if (phase_ != Phase::tls_wait) return;  // not after our STARTTLS: nothing to do
    tls_active_ = true;
    extensions_ = Extensions{};  // RFC 3207 4.2: forget what was learnt in plaintext
    out.commands += "EHLO " + options_.helo + "\r\n";
    phase_ = Phase::ehlo;
}

void Client::send(const OutboundMessage& m, ClientEffects& out) {
    VMX_ASSERT(phase_ == Phase::ready);
    VMX_ASSERT(!m.recipients.empty() && m.recipients.size() <= limits_.recipients_max);
    VMX_ASSERT(!out.done.has_value());  // the caller took the previous outcome
    outcome_ = MessageOutcome{};
    outcome_.recipients.resize(m.recipients.size());
    for (std::size_t i = 0; i < m.recipients.size(); ++i) outcome_.recipients[i].index = i;
    rcpt_state_.assign(m.recipients.size(), RcptState::open);
    if (refuse_early(m, out)) return;
    plan(m, out);
}

// The refusals decided before anything is sent, permanent: the message cannot go to this server as
// it is (enhanced codes from RFC 3463 and RFC 6531). True when the message is done.
bool Client::refuse_early(const OutboundMessage& m, ClientEffects& out) {
    std::optional<Reply> refusal;
    const std::uint64_t size = detail::message_size(m.body);
    if (!m.sender.empty() && !detail::sendable_address(m.sender, m.smtputf8)) {
        refusal = made_up(553, "5.1.7 invalid sender address");
    } else if (m.smtputf8 && !extensions_.smtputf8) {
        refusal = made_up(553, "5.6.7 the message needs SMTPUTF8, which the server does not offer");  // RFC 6531 3.2
    } else if (extensions_.size_bytes_max > 0 && size > extensions_.size_bytes_max) {
        refusal = made_up(552, "5.3.4 message size " + std::to_string(size) + " exceeds the server's limit of " +
                                   std::to_string(extensions_.size_bytes_max));  // RFC 1870 6
    } else {
        body_.clear();
        switch (detail::stuff_body(m.body, limits_.line_bytes_max, body_)) {
            case detail::BodyFault::none: break;
            case detail::BodyFault::bare_line_end:
                refusal = made_up(554, "5.6.0 message has a bare CR or LF as a line ending");  // RFC 5321 2.3.8
                break;
            case detail::BodyFault::line_too_long:
                refusal = made_up(554, "5.6.0 message has a line longer than " +
                                                 std::to_string(limits_.line_bytes_max) + " bytes");  // RFC 5321 4.5.3.1.6
                break;
        }
    }
    if (!refusal) return false;
    for (RecipientOutcome& r : outcome_.recipients) {
        r.status = DeliveryStatus::perm_failure;
        r.reply = *refusal;
    }
    emit_done(*refusal, out);
    release_transaction();
    return true;
}

// The commands of the transaction; an invalid recipient ends at once and is not sent.
void Client::plan(const OutboundMessage& m, ClientEffects& out) {
    std::size_t sendable = 0;
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
        if (!m.recipients[i].empty() && detail::sendable_address(m.recipients[i], m.smtputf8)) {
            ++sendable;
            continue;
        }
        rcpt_state_[i] = RcptState::ended;
        outcome_.recipients[i].status = DeliveryStatus::perm_failure;
        outcome_.recipients[i].reply = made_up(553, "5.1.3 invalid recipient address");
        last_rcpt_refusal_ = outcome_.recipients[i].reply;
    }
    if (sendable == 0) {
        emit_done(*last_rcpt_refusal_, out);
        return release_transaction();
    }
    steps_.clear();
    if (need_rset_) steps_.push_back({StepKind::rset, 0, "RSET\r\n"});
    need_rset_ = false;
    std::string mail = "MAIL FROM:<" + m.sender + ">";
    if (m.eight_bit && extensions_.eight_bit_mime) mail += " BODY=8BITMIME";
    if (m.smtputf8) mail += " SMTPUTF8";
    if (extensions_.size) mail += " SIZE=" + std::to_string(detail::message_size(m.body));
    steps_.push_back({StepKind::mail, 0, mail + "\r\n"});
    for (std::size_t i = 0; i < m.recipients.size(); ++i) {
        if (rcpt_state_[i] == RcptState::open) steps_.push_back({StepKind::rcpt, i, "RCPT TO:<" + m.recipients[i] + ">\r\n"});
    }
    steps_.push_back({StepKind::data, 0, "DATA\r\n"});
    sent_ = 0;
    answered_ = 0;
    accepted_ = 0;
    phase_ = Phase::transaction;
    advance(out);
}

// Sends what may be sent now: the whole group under PIPELINING (RFC 2920 3.1: DATA ends it), else
// the next command once the last one is answered; finishes a transaction that cannot go on.
void Client::advance(ClientEffects& out) {
    if (answered_ < sent_) return;  // replies of the group still to read
    const bool dead = mail_refused_.has_value() || answered_ == steps_.size() ||
                      (steps_[answered_].kind == StepKind::data && accepted_ == 0);
    if (dead) return finish(dead_reply(), out);
    const std::size_t end = extensions_.pipelining ? steps_.size() : sent_ + 1;
    for (; sent_ < end; ++sent_) out.commands += steps_[sent_].line;
}

void Client::on_step(const Reply& reply, ClientEffects& out) {
    if (answered_ == sent_) return protocol_error("reply when none was expected", out);
    const Step& step = steps_[answered_++];
    const int klass = code_class(reply);
    if (step.kind == StepKind::data) return on_data(reply, out);
    if (klass != 2 && klass != 4 && klass != 5) return protocol_error("unexpected 3xx reply", out);
    switch (step.kind) {
        case StepKind::rset:
            if (klass != 2) return protocol_error("RSET refused", out);
            break;
        case StepKind::mail:
            if (klass != 2) mail_refused_ = reply;
            break;
        case StepKind::rcpt:
            if (mail_refused_) break;  // RFC 2920 3.1: the server answers these 503; MAIL's reply decides
            if (klass == 2) {
                rcpt_state_[step.recipient] = RcptState::accepted;
                ++accepted_;
                break;
            }
            rcpt_state_[step.recipient] = RcptState::ended;
            outcome_.recipients[step.recipient].status = status_of(reply);
            outcome_.recipients[step.recipient].reply = reply;
            last_rcpt_refusal_ = reply;
            break;
        case StepKind::data: break;
    }
    advance(out);
}

void Client::on_data(const Reply& reply, ClientEffects& out) {
    const int klass = code_class(reply);
    if (klass == 3) {
        // A 354 with nothing to deliver (the pipelined MAIL or every RCPT failed): a lone dot ends
        // the empty message, which the server then refuses (RFC 2920 3.1).
        lone_dot_ = mail_refused_.has_value() || accepted_ == 0;
        if (lone_dot_) out.commands += ".\r\n";
        else out.commands += body_;
        release_body();
        phase_ = Phase::dot;
        return;
    }
    if (klass == 2) return protocol_error("DATA answered 2xx instead of 354", out);
    if (mail_refused_ || accepted_ == 0) return finish(dead_reply(), out);
    finish(reply, out);  // the recipients accepted at RCPT get DATA's refusal
}

void Client::on_dot(const Reply& reply, ClientEffects& out) {
    const int klass = code_class(reply);
    if (lone_dot_) return finish(dead_reply(), out);  // whatever the server says of an empty message
    if (klass != 2 && klass != 4 && klass != 5) return protocol_error("unexpected 3xx reply to the final dot", out);
    finish(reply, out);
}

// What ended a transaction that never reached its body: MAIL's refusal, else the last RCPT's.
const Reply& Client::dead_reply() const {
    if (mail_refused_) return *mail_refused_;
    VMX_ASSERT(last_rcpt_refusal_.has_value());
    return *last_rcpt_refusal_;
}

// The transaction is over: open and accepted recipients get `last`.
void Client::finish(const Reply& last, ClientEffects& out) {
    for (std::size_t i = 0; i < rcpt_state_.size(); ++i) {
        if (rcpt_state_[i] == RcptState::ended) continue;
        outcome_.recipients[i].status = status_of(last);
        outcome_.recipients[i].reply = last;
    }
    emit_done(last, out);
    need_rset_ = out.done->status != DeliveryStatus::accepted;
    release_transaction();
    phase_ = Phase::ready;
}

void Client::emit_done(const Reply& last, ClientEffects& out) {
    VMX_ASSERT(!out.done.has_value());
    const auto any = [this](DeliveryStatus s) {
        return std::any_of(outcome_.recipients.begin(), outcome_.recipients.end(),
                           [s](const RecipientOutcome& r) { return r.status == s; });
    };
    outcome_.status = any(DeliveryStatus::accepted)       ? DeliveryStatus::accepted
                      : any(DeliveryStatus::temp_failure) ? DeliveryStatus::temp_failure
                                                          : DeliveryStatus::perm_failure;
    outcome_.reply = last;
    out.done = std::move(outcome_);
    outcome_ = MessageOutcome{};
}

void Client::quit(ClientEffects& out) {
    if (phase_ == Phase::closed) return;
    if (phase_ == Phase::transaction || phase_ == Phase::dot) {
        // The server may be reading our body: a QUIT now would be message text.
        return end_session(made_up(421, "4.3.2 delivery stopped: the session was ended locally"), Farewell::silent, out);
    }
    if (phase_ != Phase::tls_wait) out.commands += "QUIT\r\n";
    out.close = true;
    phase_ = Phase::closed;
}

void Client::abort(Abort why, ClientEffects& out) {
    if (phase_ == Phase::closed) return;
    switch (why) {
        case Abort::timeout: return end_session(made_up(421, "4.4.2 timed out waiting for the server"), Farewell::silent, out);
        case Abort::connection_lost: return end_session(made_up(421, "4.4.2 lost connection with the server"), Farewell::silent, out);
        case Abort::tls_failed: return end_session(made_up(421, "4.7.5 TLS handshake failed"), Farewell::silent, out);
    }
    end_session(made_up(421, "4.4.2 session aborted"), Farewell::silent, out);
}

void Client::protocol_error(std::string_view what, ClientEffects& out) {
    end_session(made_up(421, "4.5.0 protocol error: " + std::string(what)), Farewell::silent, out);
}

// The session is over. A message in flight keeps what its recipients were definitely told and is
// a temporary failure for the rest.
void Client::end_session(const Reply& why, Farewell farewell, ClientEffects& out) {
    if (phase_ == Phase::transaction || phase_ == Phase::dot) {
        for (std::size_t i = 0; i < rcpt_state_.size(); ++i) {
            if (rcpt_state_[i] == RcptState::ended) continue;
            outcome_.recipients[i].status = DeliveryStatus::temp_failure;
            outcome_.recipients[i].reply = why;
        }
        emit_done(why, out);
    }
    release_transaction();
    if (farewell == Farewell::quit) out.commands += "QUIT\r\n";
    out.session_failed = why;
    out.close = true;
    phase_ = Phase::closed;
    reset_reader();
}

void Client::reset_reader() {
    reply_code_ = 0;
    reply_lines_ = 0;
    reply_text_.clear();
}

void Client::release_body() { std::string().swap(body_); }

void Client::release_transaction() {
    steps_.clear();
    sent_ = answered_ = accepted_ = 0;
    rcpt_state_.clear();
    release_body();
    mail_refused_.reset();
    last_rcpt_refusal_.reset();
    lone_dot_ = false;
}

}  // namespace vmx::smtp
