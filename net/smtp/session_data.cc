// The SMTP engine's message readers: DATA lines (dot-unstuffing, the end of data, bare line ends
// refused), BDAT chunks (RFC 3030) and the end of a message. Pure, as session.cc; the connection's
// shard thread only. Invariants: a message with a bare CR or LF, an overlong line or too many bytes
// is read to its real end and refused there; nothing else is handed over.
#include <algorithm>
#include <cstring>

#include "net/smtp/session.h"
#include "net/smtp/session_replies.h"
#include "net/smtp/session_text.h"

namespace vmx::smtp {

using namespace replies;
using detail::parse_count;
using detail::trim_spaces;

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
    if (refusal.empty() && too_many_hops()) refusal = r_mail_loop;
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

// RFC 5321 6.3: a message that has passed more relays than hop_count_max is in a loop. Only the
// header section is read: the field names at line starts, up to the empty line.
bool Session::too_many_hops() const noexcept {
    const std::string_view message = envelope_.body;
    std::size_t received = 0;
    std::size_t at = 0;
    constexpr std::string_view name = "received";
    while (at < message.size()) {
        const std::size_t lf = message.find('\n', at);
        const std::size_t end = lf == std::string_view::npos ? message.size() : lf;
        std::string_view line = message.substr(at, end - at);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;  // the end of the header section
        if (line.size() > name.size() && iequals(line.substr(0, name.size()), name)) {
            std::string_view rest = line.substr(name.size());
            while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
            if (!rest.empty() && rest.front() == ':' && ++received > limits_.hop_count_max) return true;
        }
        if (lf == std::string_view::npos) break;
        at = lf + 1;
    }
    return false;
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

}  // namespace vmx::smtp
