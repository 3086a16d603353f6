// The SMTP server engine: command table and command handlers (the DATA and BDAT readers are in
// session_data.cc, submission in session_submission.cc). Pure (no I/O, clock or logging); the
// connection's shard thread only. Invariants: input is consumed only in
// whole command lines, whole DATA lines or chunk bytes; nothing is read while a message waits for
// on_stored() (so a pipelined command is answered after the message's 250); every 4xx/5xx reply to
// the client counts towards errors_max.
#include "net/smtp/session.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "core/assert.h"
#include "core/patterns.h"
#include "net/smtp/session_replies.h"
#include "net/smtp/session_text.h"

namespace vmx::smtp {
namespace {

using Phase = Session::Phase;
using detail::has_prefix_ci;
using detail::parse_count;
using detail::trim_spaces;
using namespace replies;

constexpr std::uint8_t bit(Phase p) { return static_cast<std::uint8_t>(1u << static_cast<unsigned>(p)); }
constexpr std::uint8_t any_phase = bit(Phase::initial) | bit(Phase::ready) | bit(Phase::mail) | bit(Phase::rcpt) |
                                   bit(Phase::bdat);
constexpr std::uint8_t greeted = bit(Phase::ready) | bit(Phase::mail) | bit(Phase::rcpt) | bit(Phase::bdat);

enum CommandFlag : std::uint8_t {
    needs_helo = 1,  // 503 5.5.1 before EHLO/HELO
    needs_tls = 2,   // 530 5.7.0 while STARTTLS is required and TLS is not active
    no_args = 4,     // 501 5.5.4 when arguments are given
    needs_auth = 8,  // submission: 530 5.7.0 until AUTH succeeded
};


}  // namespace

struct Session::Command {
    std::string_view verb;
    void (Session::*handler)(std::string_view args, Effects& out);
    std::uint8_t allowed;                // phases (bit(Phase)) in which the handler runs
    std::uint8_t flags;                  // CommandFlag
    std::string_view out_of_sequence;    // the reply in any other phase
};

const Session::Command* Session::find_command(std::string_view verb) noexcept {
    // Postfix's smtpd_cmd_table, in one place: what each verb may do and when.
    static constexpr std::array<Command, 23> table{{
        {"EHLO", &Session::cmd_ehlo, any_phase, 0, {}},
        {"HELO", &Session::cmd_helo, any_phase, 0, {}},
        {"MAIL", &Session::cmd_mail, bit(Phase::ready), needs_helo | needs_tls | needs_auth, r_nested_mail},
        {"RCPT", &Session::cmd_rcpt, bit(Phase::mail) | bit(Phase::rcpt), needs_helo | needs_tls | needs_auth, r_need_mail},
        {"DATA", &Session::cmd_data, greeted, needs_helo | needs_tls | needs_auth | no_args, {}},
        {"BDAT", &Session::cmd_bdat, any_phase, 0, {}},  // checks itself: a refused chunk is still read
        {"RSET", &Session::cmd_rset, any_phase, no_args, {}},
        {"NOOP", &Session::cmd_noop, any_phase, 0, {}},
        {"QUIT", &Session::cmd_quit, any_phase, no_args, {}},
        {"VRFY", &Session::cmd_vrfy, any_phase, 0, {}},
        {"HELP", &Session::cmd_help, any_phase, 0, {}},
        {"STARTTLS", &Session::cmd_starttls, bit(Phase::ready), needs_helo | no_args, r_in_transaction},
        {"EXPN", &Session::cmd_expn, any_phase, 0, {}},
        {"ETRN", &Session::cmd_etrn, any_phase, 0, {}},
        {"TURN", &Session::cmd_turn, any_phase, 0, {}},
        {"AUTH", &Session::cmd_auth, any_phase, 0, {}},  // the MX refuses it anywhere; submission checks itself
        // Another protocol talking to port 25 (a web proxy abused by a spammer): hang up.
        {"GET", &Session::cmd_forbidden, any_phase, 0, {}},
        {"POST", &Session::cmd_forbidden, any_phase, 0, {}},
        {"HEAD", &Session::cmd_forbidden, any_phase, 0, {}},
        {"PUT", &Session::cmd_forbidden, any_phase, 0, {}},
        {"CONNECT", &Session::cmd_forbidden, any_phase, 0, {}},
        {"USER", &Session::cmd_forbidden, any_phase, 0, {}},
        {"PASS", &Session::cmd_forbidden, any_phase, 0, {}},
    }};
    for (const Command& c : table) {
        if (iequals(c.verb, verb)) return &c;
    }
    return nullptr;
}

Session::Session(const Limits& limits, const Options& options, RecipientPolicy& policy, SenderPolicy* senders)
    : limits_(limits), options_(options), policy_(policy), senders_(senders) {
    VMX_ASSERT(limits_.line_bytes_max >= 64 && limits_.text_line_bytes_max >= 64);
    VMX_ASSERT(limits_.recipients_max >= 1 && limits_.errors_max >= 1);
    VMX_ASSERT(options_.mode == Mode::mx || (senders_ != nullptr && limits_.auth_failures_max >= 1));
    tls_active_ = options_.transport == Transport::tls;
}

void Session::greet(Effects& out) {
    out.replies += "220 ";
    out.replies += options_.hostname;
    out.replies += " ESMTP\r\n";
}

std::size_t Session::feed(std::string_view input, Effects& out) {
    std::size_t used = 0;
    while (used < input.size()) {
        const std::string_view rest = input.substr(used);
        std::size_t n = 0;
        switch (phase_) {
            case Phase::closed:
            case Phase::tls_wait: return input.size();  // nothing after QUIT or STARTTLS is read
            case Phase::store_wait:
            case Phase::auth_wait:
            case Phase::rcpt_wait: return used;
            case Phase::data: n = feed_data(rest, out); break;
            case Phase::chunk: n = feed_chunk(rest, out); break;
            default:
                if (out.replies.size() >= limits_.reply_bytes_max) return used;
                n = feed_command(rest, out);
                break;
        }
        if (n == 0) break;
        used += n;
        // Bytes after STARTTLS are the caller's to drop; it may count them (an injection attempt).
        if (phase_ == Phase::tls_wait) break;
    }
    return used;
}

// One command line (or SASL response line), or the rest of an overlong one. Returns 0 when the line
// is incomplete.
std::size_t Session::feed_command(std::string_view input, Effects& out) {
    if (skipping_line_) {
        const std::size_t lf = input.find('\n');
        if (lf == std::string_view::npos) return input.size();
        skipping_line_ = false;
        return lf + 1;
    }
    const std::size_t window = std::min(input.size(), limits_.line_bytes_max);
    const void* lf_at = std::memchr(input.data(), '\n', window);
    if (lf_at == nullptr) {
        if (input.size() < limits_.line_bytes_max) return 0;
        // Answered now; the rest of the line is skipped unread.
        if (phase_ == Phase::sasl) sasl_too_long(out);
        else error(out, r_line_too_long);
        skipping_line_ = true;
        after_turn(out);
        return window;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(lf_at) - input.data());
    std::string_view line = input.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (phase_ == Phase::sasl) sasl_response(line, out);
    else dispatch(line, out);
    after_turn(out);
    return lf + 1;
}

void Session::dispatch(std::string_view line, Effects& out) {
    if (line.find('\0') != std::string_view::npos) return error(out, r_nul);
    if (line.find('\r') != std::string_view::npos) return error(out, r_bare_cr);
    const std::size_t space = line.find(' ');
    const std::string_view verb = line.substr(0, space);
    const std::string_view args = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    const Command* command = find_command(verb);
    if (command == nullptr) return error(out, r_unknown);
    if ((command->flags & needs_helo) && phase_ == Phase::initial) return error(out, r_need_helo);
    if ((command->flags & needs_tls) && options_.starttls == StartTls::required && !tls_active_) {
        return error(out, r_tls_first);
    }
    if ((command->flags & needs_auth) && options_.mode == Mode::submission && !authenticated_) {
        return error(out, r_auth_first);
    }
    if (!(command->allowed & bit(phase_))) return error(out, command->out_of_sequence);
    if ((command->flags & no_args) && !trim_spaces(args).empty()) return error(out, r_syntax_no_args);
    (this->*command->handler)(args, out);
}

bool Session::greeted_helo(std::string_view args, Effects& out) {
    args = trim_spaces(args);
    if (args.empty()) {
        error(out, r_syntax_helo);
        return false;
    }
    if (!matches(Pattern::helo_name, args)) {
        error(out, r_bad_helo);
        return false;
    }
    reset_transaction();  // RFC 5321 4.1.4: EHLO/HELO mid-transaction resets it
    helo_name_.assign(args);
    phase_ = Phase::ready;
    return true;
}

void Session::cmd_ehlo(std::string_view args, Effects& out) {
    if (!greeted_helo(args, out)) return;
    esmtp_ = true;
    std::string& r = out.replies;
    r += "250-";
    r += options_.hostname;
    r += "\r\n250-PIPELINING\r\n250-SIZE ";
    r += std::to_string(limits_.message_bytes_max);
    r += "\r\n";
    if (options_.starttls != StartTls::unavailable && !tls_active_) r += "250-STARTTLS\r\n";
    // RFC 4954 14: AUTH is offered only where a password cannot be read on the wire.
    if (options_.mode == Mode::submission && tls_active_) r += "250-AUTH PLAIN LOGIN\r\n";
    r += "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
}

void Session::cmd_helo(std::string_view args, Effects& out) {
    if (!greeted_helo(args, out)) return;
    esmtp_ = false;
    out.replies += "250 ";
    out.replies += options_.hostname;
    out.replies += "\r\n";
}

bool Session::valid_mailbox(const Path& path, bool smtputf8) const noexcept {
    if (path.mailbox.size() > pattern_bytes_max(Pattern::address) || path.domain.empty()) return false;
    const bool local_ok = matches(Pattern::local_part_smtp, path.local_part) ||
                          (smtputf8 && matches(Pattern::local_part_utf8, path.local_part));
    const bool domain_ok = matches(Pattern::domain, path.domain) || matches(Pattern::address_literal, path.domain) ||
                           (smtputf8 && matches(Pattern::domain_utf8, path.domain));
    return local_ok && domain_ok;
}

void Session::cmd_mail(std::string_view args, Effects& out) {
    Path path;
    if (!has_prefix_ci(args, "FROM:") || !parse_path(args.substr(5), path)) return error(out, r_syntax_mail);
    if (!mail_params(path.params, out)) {
        envelope_ = Envelope{};  // drop flags set by the parameters before the bad one
        return;
    }
    if (!path.mailbox.empty() && !valid_mailbox(path, envelope_.smtputf8)) {
        const bool needs_utf8 = !envelope_.smtputf8 && !is_ascii(path.mailbox);
        envelope_ = Envelope{};
        return error(out, needs_utf8 ? r_need_smtputf8 : r_bad_sender);
    }
    if (options_.mode == Mode::submission && !submission_sender(path.mailbox, out)) {
        envelope_ = Envelope{};
        return;
    }
    if (!policy_.mail_allowed()) {
        envelope_ = Envelope{};
        return error(out, r_mail_rate);
    }
    envelope_.mail_from.assign(path.mailbox);  // a source route, if any, is ignored (RFC 5321 C)
    phase_ = Phase::mail;
    out.replies += r_mail_ok;
}

// SIZE, BODY and SMTPUTF8 (only after EHLO); records the flags in envelope_.
bool Session::mail_params(std::string_view text, Effects& out) {
    Params params;
    if (!parse_params(text, params)) {
        error(out, r_bad_param);
        return false;
    }
    if (params.count > 0 && !esmtp_) {
        error(out, r_unsupported_param);
        return false;
    }
    for (std::size_t i = 0; i < params.count; ++i) {
        const Param& p = params.items[i];
        std::uint64_t size = 0;
        if (iequals(p.keyword, "SIZE")) {
            if (!parse_count(p.value, size)) {
                error(out, r_bad_param);
                return false;
            }
            if (size > limits_.message_bytes_max) {
                error(out, r_size_exceeded);
                return false;
            }
        } else if (iequals(p.keyword, "BODY") && (iequals(p.value, "8BITMIME") || iequals(p.value, "7BIT"))) {
            envelope_.body_8bitmime = iequals(p.value, "8BITMIME");
        } else if (iequals(p.keyword, "SMTPUTF8") && !p.has_value) {
            envelope_.smtputf8 = true;
        } else if (iequals(p.keyword, "AUTH") && options_.mode == Mode::submission) {
            if (!auth_param(p.value, out)) return false;
        } else {
            error(out, r_unsupported_param);
            return false;
        }
    }
    return true;
}

void Session::reply_for_address(Effects& out, std::string_view head, std::string_view address,
                                std::string_view tail) {
    out.replies += head;
    out.replies += address;
    out.replies += tail;
    ++errors_;
    ++rejected_rcpts_;
}

// Routing tricks that could make a local domain relay elsewhere; none ever reaches the policy.
bool Session::rcpt_tricks(const Path& path, Effects& out) {
    constexpr std::string_view relay_denied = ">: Relay access denied\r\n";
    if (path.source_route || path.local_part.find_first_of("%!") != std::string_view::npos ||
        (!path.domain.empty() && path.domain.front() == '[')) {
        reply_for_address(out, "550 5.7.1 <", path.mailbox, relay_denied);
        return true;
    }
    if (!path.local_part.empty() && path.local_part.front() == '"') {
        reply_for_address(out, "550 5.1.3 <", path.mailbox, ">: Recipient address rejected: quoted local part\r\n");
        return true;
    }
    return false;
}

void Session::cmd_rcpt(std::string_view args, Effects& out) {
    Path path;
    if (!has_prefix_ci(args, "TO:") || !parse_path(args.substr(3), path) || path.mailbox.empty()) {
        return error(out, r_syntax_rcpt);
    }
    Params params;
    if (!parse_params(path.params, params)) return error(out, r_bad_param);
    if (params.count > 0) return error(out, r_unsupported_param);
    if (rcpt_tricks(path, out)) return;
    const bool postmaster = path.domain.empty() && iequals(path.local_part, "postmaster");
    if (!postmaster && !valid_mailbox(path, envelope_.smtputf8)) {
        return error(out, !envelope_.smtputf8 && !is_ascii(path.mailbox) ? r_need_smtputf8 : r_bad_rcpt);
    }
    // Every accepted RCPT counts, a repeated one too: the limit bounds the client's work, not the list.
    if (rcpts_accepted_ >= limits_.recipients_max) {
        // RFC 5321 4.5.3.1.10: a client with more recipients sends the rest later, so as Postfix
        // does, an overshoot of up to recipients_max is not held against it; past that it is.
        out.replies += r_too_many_rcpts;
        if (++overshoot_ > limits_.recipients_max) ++errors_;
        return;
    }
    for (const EnvelopeRecipient& r : envelope_.recipients) {
        if (iequals(r.address, path.mailbox)) {
            ++rcpts_accepted_;
            out.replies += r_rcpt_ok;  // a duplicate is delivered once
            return;
        }
    }
    const Address address{path.mailbox, path.local_part, path.domain, envelope_.smtputf8};
    const RcptDecision decision = policy_.check(address);
    if (decision.verdict == RcptVerdict::pending) {
        pending_rcpt_.assign(path.mailbox);
        phase_ = Phase::rcpt_wait;
        return;
    }
    rcpt_verdict(path.mailbox, decision, out);
}

void Session::on_rcpt_checked(RcptDecision decision, Effects& out) {
    if (phase_ != Phase::rcpt_wait) return;
    phase_ = envelope_.recipients.empty() ? Phase::mail : Phase::rcpt;
    const std::string address = std::exchange(pending_rcpt_, {});
    rcpt_verdict(address, decision, out);
    after_turn(out);
}

void Session::rcpt_verdict(std::string_view address, RcptDecision decision, Effects& out) {
    switch (decision.verdict) {
        case RcptVerdict::accepted:
            accept_recipient(address, decision.user_id);
            out.replies += r_rcpt_ok;
            return;
        case RcptVerdict::unknown_user:
            return reply_for_address(out, "550 5.1.1 <", address, ">: Recipient address rejected: User unknown\r\n");
        case RcptVerdict::not_local: return reply_for_address(out, "550 5.7.1 <", address, ">: Relay access denied\r\n");
        case RcptVerdict::disabled:  // RFC 3463 3.3: X.2.1 mailbox disabled, not accepting messages
            return reply_for_address(out, "550 5.2.1 <", address, ">: Recipient address rejected: Mailbox disabled\r\n");
        case RcptVerdict::over_quota: return reply_for_address(out, "452 4.2.2 <", address, ">: Mailbox full\r\n");
        case RcptVerdict::temp_failure:
        case RcptVerdict::pending:  // a second `pending`, from on_rcpt_checked: nothing was decided
            return reply_for_address(out, "451 4.3.0 <", address, ">: Temporary lookup failure\r\n");
        case RcptVerdict::rate_limited:
            return reply_for_address(out, "450 4.7.1 <", address,
                                     ">: Recipient address rejected: too many recipients from your address, "
                                     "try again later\r\n");
    }
    error(out, r_bad_rcpt);  // an out-of-range verdict from a broken policy
}

void Session::accept_recipient(std::string_view address, std::uint64_t user_id) {
    envelope_.recipients.push_back(EnvelopeRecipient{std::string(address), user_id});
    ++rcpts_accepted_;
    phase_ = Phase::rcpt;
}

void Session::cmd_data(std::string_view, Effects& out) {
    if (phase_ == Phase::bdat) return error(out, r_data_after_bdat);
    if (phase_ == Phase::ready) return error(out, r_need_mail);
    if (phase_ == Phase::mail) return error(out, rejected_rcpts_ > 0 ? r_no_valid_rcpt : r_need_rcpt);
    out.replies += r_data_go;
    phase_ = Phase::data;
    prev_line_crlf_ = true;
}

void Session::cmd_rset(std::string_view, Effects& out) {
    reset_transaction();
    if (phase_ != Phase::initial) phase_ = Phase::ready;
    out.replies += r_ok;
}

void Session::cmd_noop(std::string_view, Effects& out) { out.replies += r_ok; }
void Session::cmd_quit(std::string_view, Effects& out) { goodbye(out, r_bye, {}); }
void Session::cmd_vrfy(std::string_view, Effects& out) { out.replies += r_vrfy; }
void Session::cmd_help(std::string_view, Effects& out) { out.replies += r_help; }
void Session::cmd_expn(std::string_view, Effects& out) { error(out, r_expn_refused); }
void Session::cmd_etrn(std::string_view, Effects& out) { error(out, r_etrn_refused); }
void Session::cmd_turn(std::string_view, Effects& out) { error(out, r_turn_refused); }
void Session::cmd_auth(std::string_view args, Effects& out) {
    if (options_.mode == Mode::mx) return error(out, r_auth_refused);
    auth_start(args, out);
}
void Session::cmd_forbidden(std::string_view, Effects& out) { goodbye(out, r_forbidden, {}); }

// RFC 3207: the 220 ends the plaintext part; the caller drops whatever else it has buffered.
void Session::cmd_starttls(std::string_view, Effects& out) {
    if (tls_active_) return error(out, r_tls_active);
    if (options_.starttls == StartTls::unavailable) return error(out, r_tls_unavailable);
    out.replies += r_tls_go;
    out.start_tls = true;
    phase_ = Phase::tls_wait;
}

void Session::on_tls_started(Effects& out) {
    if (phase_ != Phase::tls_wait) return;  // not after a STARTTLS of ours: nothing to do
    tls_active_ = true;
    reset_transaction();
    helo_name_.clear();
    esmtp_ = false;
    skipping_line_ = false;
    phase_ = Phase::initial;  // RFC 3207 4.2: forget everything learnt before TLS
    after_turn(out);
}

void Session::on_stored(StoreOutcome outcome, Effects& out, std::string_view queue_id) {
    if (phase_ != Phase::store_wait) return;
    phase_ = Phase::ready;
    switch (outcome) {
        case StoreOutcome::stored:
            out.replies += "250 2.0.0 Ok: queued";
            if (!queue_id.empty()) {
                out.replies += " as ";
                out.replies += queue_id;
            }
            out.replies += "\r\n";
            break;
        case StoreOutcome::failed: out.replies += r_store_failed; break;
        case StoreOutcome::full: out.replies += r_store_full; break;
        case StoreOutcome::over_rate: out.replies += r_over_rate; break;
        case StoreOutcome::dmarc_reject: out.replies += r_dmarc_reject; break;
        case StoreOutcome::unauthenticated: out.replies += r_unauthenticated; break;
        case StoreOutcome::checks_busy: out.replies += r_checks_busy; break;
        case StoreOutcome::unreadable_headers: out.replies += r_unreadable_headers; break;
    }
    after_turn(out);
}

void Session::on_timeout(Effects& out) {
    if (phase_ == Phase::closed) return;
    if (phase_ == Phase::tls_wait) {  // mid-handshake: no plaintext reply fits
        phase_ = Phase::closed;
        out.close = true;
        return;
    }
    goodbye(out, "421 4.4.2 ", " Error: timeout exceeded\r\n");
}

void Session::on_end(EndReason reason, Effects& out) {
    if (!draining_) end_reason_ = reason;  // the first reason is the one given
    draining_ = true;
    after_turn(out);
}

std::string_view Session::end_reply() const noexcept {
    switch (end_reason_) {
        case EndReason::draining: return " Service shutting down\r\n";
        case EndReason::logged_out: return " Error: session ended by a logout\r\n";
        case EndReason::session_limit: return " Error: session length limit reached\r\n";
    }
    return " Service shutting down\r\n";
}

void Session::error(Effects& out, std::string_view text) {
    out.replies += text;
    ++errors_;
}

// After each reply: hang up on too many errors, or on a pending drain between commands.
void Session::after_turn(Effects& out) {
    if (phase_ == Phase::closed) return;
    if (errors_ >= limits_.errors_max) return goodbye(out, "421 4.7.0 ", " Error: too many errors\r\n");
    if (draining_ && phase_ <= Phase::bdat)
        goodbye(out, end_reason_ == EndReason::draining ? "421 4.3.2 " : "421 4.7.0 ", end_reply());
}

// A final reply and close. With a tail the reply names this host between head and tail.
void Session::goodbye(Effects& out, std::string_view head, std::string_view tail) {
    out.replies += head;
    if (!tail.empty()) {
        out.replies += options_.hostname;
        out.replies += tail;
    }
    out.close = true;
    phase_ = Phase::closed;
    reset_transaction();
}

void Session::reset_transaction() {
    envelope_ = Envelope{};
    pending_rcpt_.clear();
    body_bytes_ = 0;
    chunk_left_ = 0;
    rejected_rcpts_ = 0;
    overshoot_ = 0;
    rcpts_accepted_ = 0;
    prev_line_crlf_ = true;
    cr_pending_ = false;
    chunk_last_ = false;
    chunk_discard_ = false;
    bad_line_end_ = false;
    line_too_long_ = false;
    too_big_ = false;
    chunk_refusal_ = {};
}

// Credentials never outlive the exchange that carried them.
void Session::forget_sasl() {
    sasl_username_.clear();
    sasl_username_.shrink_to_fit();
}

void Session::release_body() { std::string().swap(envelope_.body); }

}  // namespace vmx::smtp
