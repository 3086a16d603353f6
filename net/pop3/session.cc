// POP3 session engine: input framing, the command table and the caller's callbacks (see
// session.h). The command handlers live in commands.cc. Single-threaded like its connection.
#include "net/pop3/session.h"

#include <algorithm>
#include <utility>

#include "crypto/secret_bytes.h"
#include "net/pop3/text.h"

namespace vmx::pop3 {

void Effects::clear() noexcept {
    replies.clear();
    close = false;
    start_tls = false;
    auth.reset();
    body.reset();
    body_enough = false;
    expunge.clear();
}

Session::Session(const Limits& limits, Transport transport, Advertised advertised)
    : limits_(limits), transport_(transport), advertised_(advertised) {}

void Session::start(Effects& out) {
    if (state_ != State::not_started) return;
    state_ = State::authorization;
    out.replies.append("+OK POP3 server ready\r\n");
}

Awaiting Session::awaiting() const noexcept {
    switch (state_) {
        case State::authorization:
        case State::sasl_response:
        case State::transaction: return Awaiting::input;
        case State::listing: return Awaiting::writable;
        case State::auth_pending: return Awaiting::auth_result;
        case State::maildrop_pending: return Awaiting::maildrop;
        case State::body: return Awaiting::body;
        case State::update_pending: return Awaiting::update;
        case State::tls_pending: return Awaiting::tls_handshake;
        case State::not_started:
        case State::closed: break;
    }
    return Awaiting::nothing;
}

std::size_t Session::feed(std::string_view input, Effects& out) {
    std::size_t used = 0;
    while (used < input.size() && awaiting() == Awaiting::input &&
           out.replies.size() < limits_.reply_bytes_soft_max) {
        used += take_line(input.substr(used), out);
    }
    return used;
}

// Takes one line through its LF, or the whole input when no LF is in it yet. A line passing its
// limit is dropped up to its LF and answered once, so a flood costs no memory.
std::size_t Session::take_line(std::string_view input, Effects& out) {
    const std::size_t lf = input.find('\n');
    const std::string_view part = input.substr(0, lf);
    const std::size_t used = lf == std::string_view::npos ? input.size() : lf + 1;
    if (!discarding_) {
        const std::string_view prefix = line_.empty() ? part : std::string_view(line_);
        // The limit counts the line end; `part` already holds the CR of a CRLF.
        if (line_.size() + part.size() + 1 > line_limit(prefix.substr(0, 5))) {
            wipe_line();
            discarding_ = true;
        }
    }
    if (discarding_) {
        if (lf == std::string_view::npos) return used;
        discarding_ = false;
        if (state_ == State::sasl_response) state_ = State::authorization;
        reply_err("Line too long", out);
        return used;
    }
    if (lf == std::string_view::npos) {
        append_to_line(part);
        return used;
    }
    std::string_view line = part;  // a whole line in the input is used where it lies
    if (!line_.empty()) {
        append_to_line(part);
        line = line_;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    handle_line(line, out);
    wipe_line();  // it may have held a password
    return used;
}

std::size_t Session::line_limit(std::string_view prefix) const noexcept {
    const bool auth_line = state_ == State::sasl_response || (prefix.size() >= 4 && iequals(prefix.substr(0, 4), "AUTH"));
    return auth_line ? limits_.auth_line_bytes_max : limits_.command_line_bytes_max;
}

void Session::handle_line(std::string_view line, Effects& out) {
    if (state_ == State::sasl_response) {
        state_ = State::authorization;
        if (line != "*") return sasl_plain(line, out);
        out.replies.append("-ERR Authentication cancelled\r\n");  // RFC 5034 section 4
        return;
    }
    if (has_controls(line)) return reply_err("Invalid characters in command", out);
    const std::size_t space = line.find(' ');
    const std::string_view verb = line.substr(0, space);
    const std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    dispatch(verb, rest, out);
}

// The buffer gets its full size before its first byte, so it never reallocates and leaves a copy
// of a password behind in freed memory.
void Session::append_to_line(std::string_view part) {
    if (line_.empty()) line_.reserve(std::max(limits_.command_line_bytes_max, limits_.auth_line_bytes_max));
    line_.append(part);
}

void Session::wipe_line() noexcept {
    crypto::secure_wipe(line_.data(), line_.size());
    line_.clear();
}

// ---- Callbacks from the caller -----------------------------------------------------------------

// RFC 2595 section 4: no new greeting; the client starts over with CAPA.
void Session::on_tls_started(Effects& /*out*/) {
    if (state_ != State::tls_pending) return;
    transport_.tls = Tls::active;
    user_.clear();
    state_ = State::authorization;
}

void Session::on_auth_result(AuthOutcome outcome, Effects& out) {
    if (state_ != State::auth_pending) return;
    state_ = State::authorization;
    if (draining_) return reply_shutdown(out);
    switch (outcome) {
        case AuthOutcome::ok: state_ = State::maildrop_pending; return;
        case AuthOutcome::bad_credentials: return auth_failed("-ERR [AUTH] Authentication failed\r\n", out);
        case AuthOutcome::disabled: return auth_failed("-ERR [SYS/PERM] Account disabled, contact your administrator\r\n", out);
        case AuthOutcome::policy_denied: return auth_failed("-ERR [AUTH] Login not allowed by policy\r\n", out);
        case AuthOutcome::in_use: out.replies.append("-ERR [IN-USE] Mailbox in use by another session\r\n"); return;
        case AuthOutcome::temp_failure: out.replies.append("-ERR [SYS/TEMP] Temporary failure, try again later\r\n"); return;
    }
}

void Session::on_maildrop(std::vector<MessageInfo> messages, Effects& out) {
    if (state_ != State::maildrop_pending) return;
    if (draining_) return reply_shutdown(out);
    if (messages.size() > limits_.messages_max) messages.resize(limits_.messages_max);
    if (!std::all_of(messages.begin(), messages.end(), [](const MessageInfo& m) { return valid_uidl(m.uidl); })) {
        return on_maildrop_failed(out);
    }
    messages_.clear();
    messages_.reserve(messages.size());
    for (auto& m : messages) messages_.push_back({m.id, m.size_octets, std::move(m.uidl), false});
    state_ = State::transaction;
    out.replies.append("+OK Logged in, ");
    append_drop_summary(out.replies);
    out.replies.append("\r\n");
}

void Session::on_maildrop_failed(Effects& out) {
    if (state_ != State::maildrop_pending) return;
    state_ = State::authorization;
    if (draining_) return reply_shutdown(out);
    out.replies.append("-ERR [SYS/TEMP] Mailbox unavailable, try again later\r\n");
}

void Session::on_body_chunk(std::string_view chunk, Effects& out) {
    if (state_ != State::body) return;
    if (encoder_.enough()) {
        out.body_enough = true;
        return;
    }
    open_body_reply(out);
    if (encoder_.encode(chunk, out.replies)) out.body_enough = true;
}

void Session::on_body_end(Effects& out) {
    if (state_ != State::body) return;
    open_body_reply(out);
    encoder_.finish(out.replies);
    finish_wait(out);
}

// Before the first body byte the answer can still be a clean -ERR; after it, anything written would
// become part of the message for the client, so the only honest signal is a response cut short.
void Session::on_body_failed(Effects& out) {
    if (state_ != State::body) return;
    if (body_started_) return close(out);
    out.replies.append("-ERR [SYS/TEMP] Message temporarily unavailable\r\n");
    finish_wait(out);
}

void Session::on_writable(Effects& out) {
    if (state_ == State::listing) continue_listing(out);
}

void Session::on_update_done(UpdateResult result, Effects& out) {
    if (state_ != State::update_pending) return;
    out.replies.append(result == UpdateResult::ok ? "+OK Bye, deleted messages moved to trash\r\n"
                                                  : "-ERR [SYS/TEMP] Deleted messages could not be removed\r\n");
    close(out);
}

// RFC 1939 section 3: on the autologout timer the server closes "without removing any messages or
// sending any response to the client".
void Session::on_timeout(Effects& out) {
    if (state_ == State::closed) return;
    close(out);
}

void Session::on_drain(Effects& out) {
    switch (state_) {
        case State::authorization:
        case State::sasl_response:
        case State::transaction: return reply_shutdown(out);
        case State::auth_pending:
        case State::maildrop_pending:
        case State::listing:
        case State::body:
        case State::update_pending: draining_ = true; return;  // the answer in flight goes out first
        case State::not_started:
        case State::tls_pending: return close(out);  // nothing may be written in the clear now
        case State::closed: return;
    }
}

void Session::on_logout(LogoutReason reason, Effects& out) {
    if (state_ == State::closed) return;
    // Inside a multi-line reply an -ERR line would read as data: the reply is cut short instead.
    const bool silent = state_ == State::tls_pending || state_ == State::not_started || state_ == State::listing ||
                        (state_ == State::body && body_started_);
    if (!silent) {
        out.replies.append(reason == LogoutReason::admin ? "-ERR [SYS/PERM] Session ended by the administrator\r\n"
                                                         : "-ERR [SYS/TEMP] Session time limit reached\r\n");
    }
    close(out);
}

void Session::on_close() noexcept {
    wipe_line();
    state_ = State::closed;
}

// ---- Replies -----------------------------------------------------------------------------------

void Session::reply_ok(std::string_view text, Effects& out) {
    out.replies.append("+OK ");
    out.replies.append(text);
    out.replies.append("\r\n");
}

void Session::reply_err(std::string_view text, Effects& out) {
    if (++errors_ >= limits_.errors_max) {
        out.replies.append("-ERR Too many errors, closing connection\r\n");
        return close(out);
    }
    out.replies.append("-ERR ");
    out.replies.append(text);
    out.replies.append("\r\n");
}

void Session::auth_failed(std::string_view reply, Effects& out) {
    out.replies.append(reply);
    if (++auth_failures_ >= limits_.auth_failures_max) close(out);
}

void Session::reply_shutdown(Effects& out) {
    out.replies.append("-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    close(out);
}

void Session::close(Effects& out) noexcept {
    wipe_line();
    user_.clear();
    state_ = State::closed;
    out.close = true;
}

void Session::finish_wait(Effects& out) {
    state_ = State::transaction;
    if (draining_) reply_shutdown(out);
}

}  // namespace vmx::pop3
