// The SMTP server engine: command table, command handlers, DATA and BDAT readers. Pure (no I/O,
// clock or logging); the connection's shard thread only. Invariants: input is consumed only in
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
#include "net/smtp/session_text.h"

namespace vmx::smtp {
namespace {

using Phase = Session::Phase;
using detail::has_prefix_ci;
using detail::parse_count;
using detail::trim_spaces;

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

// Fixed replies (Postfix's wording where it has one). Enhanced status codes (RFC 3463) on all but
// the greeting, EHLO/HELO and 354.
constexpr std::string_view r_ok = "250 2.0.0 Ok\r\n";
constexpr std::string_view r_mail_ok = "250 2.1.0 Ok\r\n";
constexpr std::string_view r_rcpt_ok = "250 2.1.5 Ok\r\n";
constexpr std::string_view r_data_go = "354 End data with <CR><LF>.<CR><LF>\r\n";
constexpr std::string_view r_bye = "221 2.0.0 Bye\r\n";
constexpr std::string_view r_vrfy = "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
constexpr std::string_view r_help =
    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n";
constexpr std::string_view r_tls_go = "220 2.0.0 Ready to start TLS\r\n";
constexpr std::string_view r_unknown = "500 5.5.2 Error: command not recognized\r\n";
constexpr std::string_view r_nul = "500 5.5.2 Error: NUL character in command\r\n";
constexpr std::string_view r_bare_cr = "500 5.5.2 Error: bare <CR> in command\r\n";
constexpr std::string_view r_line_too_long = "500 5.5.2 Error: line too long\r\n";
// Refusals by policy, each saying why. EXPN would disclose list members (RFC 5321 7.3 lets a
// server refuse it); ETRN asks to flush mail queued for another host, and an MX for its own
// domains queues none; TURN reverses the connection without authentication (RFC 2821 4.1.1
// deprecates it); AUTH belongs to the submission listeners, never to the MX (Postfix's wording).
constexpr std::string_view r_expn_refused = "502 5.7.0 EXPN refused: list members are not disclosed\r\n";
constexpr std::string_view r_etrn_refused = "502 5.5.1 ETRN refused: no mail is queued here for other hosts\r\n";
constexpr std::string_view r_turn_refused = "502 5.7.0 TURN refused: it reverses the connection without authentication\r\n";
constexpr std::string_view r_auth_refused = "503 5.5.1 Error: authentication not enabled\r\n";
constexpr std::string_view r_need_helo = "503 5.5.1 Error: send HELO/EHLO first\r\n";
constexpr std::string_view r_nested_mail = "503 5.5.1 Error: nested MAIL command\r\n";
constexpr std::string_view r_need_mail = "503 5.5.1 Error: need MAIL command\r\n";
constexpr std::string_view r_need_rcpt = "503 5.5.1 Error: need RCPT command\r\n";
constexpr std::string_view r_data_after_bdat = "503 5.5.1 Error: DATA after BDAT\r\n";
constexpr std::string_view r_in_transaction = "503 5.5.1 Error: MAIL transaction in progress\r\n";
constexpr std::string_view r_no_valid_rcpt = "554 5.5.1 Error: no valid recipients\r\n";
constexpr std::string_view r_tls_active = "554 5.5.1 Error: TLS already active\r\n";
constexpr std::string_view r_tls_unavailable = "454 4.7.0 TLS not available due to local problem\r\n";
constexpr std::string_view r_tls_first = "530 5.7.0 Must issue a STARTTLS command first\r\n";
constexpr std::string_view r_auth_first = "530 5.7.0 Authentication required\r\n";
constexpr std::string_view r_syntax_helo = "501 5.5.4 Syntax: EHLO hostname\r\n";
constexpr std::string_view r_bad_helo = "501 5.5.2 Error: invalid EHLO/HELO hostname\r\n";
constexpr std::string_view r_syntax_mail = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
constexpr std::string_view r_syntax_rcpt = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
constexpr std::string_view r_syntax_bdat = "501 5.5.4 Syntax: BDAT count [LAST]\r\n";
constexpr std::string_view r_syntax_no_args = "501 5.5.4 Syntax: no parameters allowed\r\n";
constexpr std::string_view r_bad_sender = "501 5.1.7 Bad sender address syntax\r\n";
constexpr std::string_view r_bad_rcpt = "501 5.1.3 Bad recipient address syntax\r\n";
constexpr std::string_view r_need_smtputf8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n";
constexpr std::string_view r_bad_param = "501 5.5.4 Bad ESMTP parameter syntax\r\n";
constexpr std::string_view r_unsupported_param = "555 5.5.4 Unsupported option\r\n";
constexpr std::string_view r_size_exceeded = "552 5.3.4 Message size exceeds fixed limit\r\n";
constexpr std::string_view r_too_many_rcpts = "452 4.5.3 Error: too many recipients\r\n";
constexpr std::string_view r_bare_line_end = "550 5.5.2 Error: bare <CR> or <LF> in message data\r\n";
constexpr std::string_view r_text_line_too_long = "550 5.5.2 Error: message line too long\r\n";
constexpr std::string_view r_store_failed = "451 4.3.0 Error: queue file write error\r\n";
constexpr std::string_view r_store_full = "452 4.3.1 Insufficient system storage\r\n";
constexpr std::string_view r_over_rate = "450 4.7.1 Error: hourly sending limit reached, try again later\r\n";
constexpr std::string_view r_forbidden = "221 2.7.0 Error: this is an SMTP server. Goodbye\r\n";

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
            case Phase::auth_wait: return used;
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
    if (envelope_.recipients.size() >= limits_.recipients_max) {
        // RFC 5321 4.5.3.1.10: a client with more recipients sends the rest later, so as Postfix
        // does, an overshoot of up to recipients_max is not held against it; past that it is.
        out.replies += r_too_many_rcpts;
        if (++overshoot_ > limits_.recipients_max) ++errors_;
        return;
    }
    for (const EnvelopeRecipient& r : envelope_.recipients) {
        if (iequals(r.address, path.mailbox)) {
            out.replies += r_rcpt_ok;  // a duplicate is delivered once
            return;
        }
    }
    const Address address{path.mailbox, path.local_part, path.domain, envelope_.smtputf8};
    const RcptDecision decision = policy_.check(address);
    switch (decision.verdict) {
        case RcptVerdict::accepted:
            accept_recipient(path.mailbox, decision.user_id);
            out.replies += r_rcpt_ok;
            return;
        case RcptVerdict::unknown_user:
            return reply_for_address(out, "550 5.1.1 <", path.mailbox, ">: Recipient address rejected: User unknown\r\n");
        case RcptVerdict::not_local: return reply_for_address(out, "550 5.7.1 <", path.mailbox, ">: Relay access denied\r\n");
        case RcptVerdict::over_quota: return reply_for_address(out, "452 4.2.2 <", path.mailbox, ">: Mailbox full\r\n");
        case RcptVerdict::temp_failure:
            return reply_for_address(out, "451 4.3.0 <", path.mailbox, ">: Temporary lookup failure\r\n");
    }
    error(out, r_bad_rcpt);  // an out-of-range verdict from a broken policy
}

void Session::accept_recipient(std::string_view address, std::uint64_t user_id) {
    envelope_.recipients.push_back(EnvelopeRecipient{std::string(address), user_id});
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

// DATA lines: whole lines only (the caller holds a partial one), or the rest of an overlong line.
std::size_t Session::feed_data(std::string_view input, Effects& out) {
    if (skipping_line_) {
        const std::size_t lf = input.find('\n');
        body_bytes_ += lf == std::string_view::npos ? input.size() : lf + 1;
        if (lf == std::string_view::npos) {
            cr_pending_ = input.back() == '\r';
            return input.size();
        }
        prev_line_crlf_ = lf == 0 ? cr_pending_ : input[lf - 1] == '\r';
        skipping_line_ = false;
        return lf + 1;
    }
    const std::size_t window = std::min(input.size(), limits_.text_line_bytes_max);
    const void* lf_at = std::memchr(input.data(), '\n', window);
    if (lf_at == nullptr) {
        if (input.size() < limits_.text_line_bytes_max) return 0;
        // The message is refused at its end; the line is read on without being kept.
        line_too_long_ = true;
        release_body();
        skipping_line_ = true;
        cr_pending_ = input[window - 1] == '\r';
        body_bytes_ += window;
        return window;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(lf_at) - input.data());
    data_line(input.substr(0, lf + 1), out);
    return lf + 1;
}

// One DATA line with its LF. Only "." CRLF after a CRLF ends the message: a bare LF or CR
// anywhere marks the message refused, and reading goes on to the real end, so nothing a
// different parser would see as a second message is ever acted upon (SMTP smuggling).
void Session::data_line(std::string_view line, Effects& out) {
    const bool crlf = line.size() >= 2 && line[line.size() - 2] == '\r';
    std::string_view text = line.substr(0, line.size() - (crlf ? 2 : 1));
    if (crlf && prev_line_crlf_ && text == ".") return finish_message(out);
    prev_line_crlf_ = crlf;
    if (!crlf || text.find('\r') != std::string_view::npos) {
        bad_line_end_ = true;
        release_body();
    }
    if (!text.empty() && text.front() == '.') text.remove_prefix(1);  // dot-unstuffing
    body_bytes_ += text.size() + 2;
    if (body_bytes_ > limits_.message_bytes_max && !too_big_) {
        too_big_ = true;
        release_body();
    }
    if (bad_line_end_ || too_big_ || line_too_long_) return;
    envelope_.body.append(text);
    envelope_.body.append("\r\n");
}

// The end of DATA or of the BDAT LAST chunk: refuse, or hand the message to the caller.
void Session::finish_message(Effects& out) {
    std::string_view refusal = bad_line_end_ ? r_bare_line_end
                               : too_big_    ? r_size_exceeded
                               : line_too_long_ ? r_text_line_too_long
                                                : std::string_view{};
    if (refusal.empty() && options_.mode == Mode::submission) refusal = header_refusal();
    if (!refusal.empty()) {
        reset_transaction();
        phase_ = Phase::ready;
        error(out, refusal);
        after_turn(out);
        return;
    }
    Envelope& message = out.message_ready.emplace(std::move(envelope_));
    message.helo_name = helo_name_;
    message.esmtp = esmtp_;
    message.tls = tls_active_;
    reset_transaction();
    phase_ = Phase::store_wait;
}

// Why a BDAT may not add to a message now; empty when it may.
std::string_view Session::bdat_refusal() const noexcept {
    if (phase_ == Phase::initial) return r_need_helo;
    if (options_.starttls == StartTls::required && !tls_active_) return r_tls_first;
    if (options_.mode == Mode::submission && !authenticated_) return r_auth_first;
    if (phase_ == Phase::ready) return r_need_mail;
    if (phase_ == Phase::mail) return rejected_rcpts_ > 0 ? r_no_valid_rcpt : r_need_rcpt;
    return {};
}

// BDAT n [LAST] (RFC 3030). The n bytes follow whatever the reply, so a refused chunk is read and
// dropped; a count that does not parse leaves no way to find the next command: hang up.
void Session::cmd_bdat(std::string_view args, Effects& out) {
    args = trim_spaces(args);
    const std::size_t space = args.find(' ');
    std::uint64_t size = 0;
    if (!parse_count(args.substr(0, space), size)) return goodbye(out, r_syntax_bdat, {});
    const std::string_view tail = space == std::string_view::npos ? std::string_view{} : trim_spaces(args.substr(space));
    const bool last = iequals(tail, "LAST");
    std::string_view refusal = (!tail.empty() && !last) ? r_syntax_bdat : bdat_refusal();
    resume_phase_ = phase_;
    chunk_left_ = size;
    chunk_last_ = last;
    chunk_discard_ = !refusal.empty();
    chunk_refusal_ = refusal;
    phase_ = Phase::chunk;
    if (size == 0) finish_chunk(out);
}

std::size_t Session::feed_chunk(std::string_view input, Effects& out) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(input.size(), chunk_left_));
    const std::string_view piece = input.substr(0, n);
    if (!chunk_discard_) {
        scan_chunk(piece);
        body_bytes_ += n;
        if (body_bytes_ > limits_.message_bytes_max && !too_big_) {
            too_big_ = true;
            release_body();
        }
        if (!too_big_ && !bad_line_end_) envelope_.body.append(piece);
    }
    chunk_left_ -= n;
    if (chunk_left_ == 0) finish_chunk(out);
    return n;
}

// Chunk bytes must be canonical CRLF text too (BINARYMIME is not offered), across chunk borders.
void Session::scan_chunk(std::string_view piece) noexcept {
    for (char c : piece) {
        if (cr_pending_) {
            cr_pending_ = false;
            if (c == '\n') continue;
            bad_line_end_ = true;
        }
        if (c == '\r') {
            cr_pending_ = true;
        } else if (c == '\n') {
            bad_line_end_ = true;
        }
    }
    if (bad_line_end_) release_body();
}

void Session::finish_chunk(Effects& out) {
    if (chunk_discard_) {
        phase_ = resume_phase_;
        error(out, chunk_refusal_);
        after_turn(out);
        return;
    }
    if (chunk_last_) {
        if (cr_pending_) bad_line_end_ = true;  // the message ends in a bare CR
        return finish_message(out);
    }
    if (too_big_) {  // no later chunk can make it fit
        reset_transaction();
        phase_ = Phase::ready;
        error(out, r_size_exceeded);
    } else {
        phase_ = Phase::bdat;
        out.replies += "250 2.0.0 Ok: ";
        out.replies += std::to_string(body_bytes_);
        out.replies += " bytes\r\n";
    }
    after_turn(out);
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
    body_bytes_ = 0;
    chunk_left_ = 0;
    rejected_rcpts_ = 0;
    overshoot_ = 0;
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
