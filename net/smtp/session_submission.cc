// The submission mode of the SMTP engine (RFC 6409, RFC 4954): AUTH PLAIN and LOGIN with their SASL
// exchange, the MAIL AUTH= parameter, and the binding of envelope sender and header From:/Sender:
// to the login. Pure, like session.cc; the connection's shard thread only. Invariants: AUTH is
// accepted only under TLS, once per session, outside a transaction; the decoded secret lives only
// in SecretBytes; nothing is read while a login waits for its verdict.
#include <algorithm>
#include <utility>

#include "core/assert.h"
#include "net/sasl/sasl_plain.h"
#include "net/smtp/headers.h"
#include "net/smtp/session.h"
#include "net/smtp/session_replies.h"
#include "net/smtp/session_text.h"

namespace vmx::smtp {
namespace {

using detail::trim_spaces;
using namespace replies;

// AUTH's own replies: RFC 4954 section 6 and Postfix's wording.
constexpr std::string_view r_auth_ok = "235 2.7.0 Authentication successful\r\n";
constexpr std::string_view r_auth_failed = "535 5.7.8 Error: authentication failed\r\n";
constexpr std::string_view r_auth_temp = "454 4.7.0 Temporary authentication failure\r\n";
constexpr std::string_view r_auth_disabled = "525 5.7.13 Error: user account disabled\r\n";
constexpr std::string_view r_auth_policy =
    "535 5.7.8 Error: authentication failed: refused by the organisation's policy (app password or network)\r\n";
constexpr std::string_view r_auth_authzid = "535 5.7.8 Error: authentication failed: authorization identity not allowed\r\n";
constexpr std::string_view r_auth_syntax = "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n";
constexpr std::string_view r_auth_mechanism = "504 5.5.4 Error: unsupported authentication mechanism\r\n";
constexpr std::string_view r_auth_again = "503 5.5.1 Error: already authenticated\r\n";
constexpr std::string_view r_auth_aborted = "501 5.7.0 Authentication aborted\r\n";
constexpr std::string_view r_auth_base64 = "501 5.5.2 Cannot decode response\r\n";
constexpr std::string_view r_auth_malformed = "501 5.5.2 Error: malformed authentication response\r\n";
constexpr std::string_view r_auth_line_too_long = "500 5.5.6 Authentication Exchange line is too long\r\n";
constexpr std::string_view r_challenge_plain = "334 \r\n";
constexpr std::string_view r_challenge_username = "334 VXNlcm5hbWU6\r\n";  // "Username:"
constexpr std::string_view r_challenge_password = "334 UGFzc3dvcmQ6\r\n";  // "Password:"
constexpr std::string_view r_null_sender = "553 5.7.1 <>: Sender address rejected: not allowed on submission\r\n";
constexpr std::string_view r_header_bad = "554 5.6.0 Error: malformed or oversized message header\r\n";
constexpr std::string_view r_from_missing = "553 5.7.1 Error: the message needs one From: header with valid addresses\r\n";
constexpr std::string_view r_from_not_owned = "553 5.7.1 Error: From: header names an address you may not send as\r\n";
constexpr std::string_view r_sender_not_owned = "553 5.7.1 Error: Sender: header names an address you may not send as\r\n";

constexpr std::size_t xtext_bytes_max = 500;  // RFC 4954 5: an addr-spec, xtext-encoded

// RFC 3461 4: xtext = *( xchar / "+" 2HEXCHAR ), xchar = "!".."~" except "+" and "=".
bool valid_xtext(std::string_view text) noexcept {
    if (text.empty() || text.size() > xtext_bytes_max) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            if (i + 2 >= text.size()) return false;
            for (std::size_t j = 1; j <= 2; ++j) {
                const char h = text[i + j];
                if (!((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'))) return false;
            }
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            return false;
        }
    }
    return true;
}

}  // namespace

// AUTH mechanism [initial-response] (RFC 4954 4). Refused before TLS, twice, or mid-transaction.
void Session::auth_start(std::string_view args, Effects& out) {
    if (!tls_active_) return error(out, r_tls_first);
    if (phase_ == Phase::initial) return error(out, r_need_helo);
    if (authenticated_) return error(out, r_auth_again);
    if (phase_ != Phase::ready) return error(out, r_in_transaction);
    args = trim_spaces(args);
    const std::size_t space = args.find(' ');
    const std::string_view mechanism = args.substr(0, space);
    const std::string_view initial = space == std::string_view::npos ? std::string_view{} : trim_spaces(args.substr(space));
    if (mechanism.empty() || initial.find(' ') != std::string_view::npos) return error(out, r_auth_syntax);
    const bool has_initial = space != std::string_view::npos && !initial.empty();
    // "=" is the empty initial response (RFC 4954 4).
    const std::string_view response = initial == "=" ? std::string_view{} : initial;
    if (iequals(mechanism, "PLAIN")) {
        sasl_mechanism_ = AuthMechanism::plain;
        if (has_initial) return sasl_plain(response, out);
        out.replies += r_challenge_plain;
        phase_ = Phase::sasl;
        return;
    }
    if (iequals(mechanism, "LOGIN")) {
        sasl_mechanism_ = AuthMechanism::login;
        forget_sasl();
        phase_ = Phase::sasl;
        if (has_initial) return sasl_login_name(response, out);
        out.replies += r_challenge_username;
        return;
    }
    error(out, r_auth_mechanism);
}

// A response line over line_bytes_max ends the exchange; the caller skips the rest of it.
void Session::sasl_too_long(Effects& out) {
    forget_sasl();
    phase_ = Phase::ready;
    error(out, r_auth_line_too_long);
}

void Session::sasl_response(std::string_view line, Effects& out) {
    if (line == "*") {  // the client cancels (RFC 4954 4)
        forget_sasl();
        phase_ = Phase::ready;
        return error(out, r_auth_aborted);
    }
    if (sasl_mechanism_ == AuthMechanism::plain) return sasl_plain(line, out);
    if (sasl_username_.empty()) return sasl_login_name(line, out);
    sasl_login_secret(line, out);
}

// An empty response ("=" or an empty line) is well-formed base64 of nothing: malformed credentials.
void Session::sasl_plain(std::string_view base64, Effects& out) {
    phase_ = Phase::ready;
    if (base64.empty()) return error(out, r_auth_malformed);
    const std::size_t decoded_max = 2 * limits_.username_bytes_max + limits_.secret_bytes_max + 2;
    const auto message = sasl::base64_decode_secret(base64, decoded_max);
    if (!message) return error(out, r_auth_base64);
    auto plain = sasl::parse_plain(*message, limits_.username_bytes_max, limits_.secret_bytes_max);
    if (!plain.credentials) {
        // An authzid naming someone else asks to act as them: never allowed, counted as a failure.
        if (plain.error == sasl::PlainError::authzid_differs) return auth_failed(out, r_auth_authzid);
        return error(out, r_auth_malformed);
    }
    request_auth(std::move(plain.credentials->authcid), std::move(plain.credentials->password), out);
}

void Session::sasl_login_name(std::string_view base64, Effects& out) {
    if (base64.empty()) {
        phase_ = Phase::ready;
        return error(out, r_auth_malformed);
    }
    const auto name = sasl::base64_decode_secret(base64, limits_.username_bytes_max);
    const auto bytes = name ? name->view() : std::span<const std::uint8_t>{};
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (!name || !sasl::valid_username(text, limits_.username_bytes_max)) {
        phase_ = Phase::ready;
        return error(out, name ? r_auth_malformed : r_auth_base64);
    }
    sasl_username_.assign(text);
    phase_ = Phase::sasl;
    out.replies += r_challenge_password;
}

void Session::sasl_login_secret(std::string_view base64, Effects& out) {
    phase_ = Phase::ready;
    if (base64.empty()) {
        forget_sasl();
        return error(out, r_auth_malformed);
    }
    auto secret = sasl::base64_decode_secret(base64, limits_.secret_bytes_max);
    if (!secret) {
        forget_sasl();
        return error(out, r_auth_base64);
    }
    const auto bytes = secret->view();
    if (bytes.empty() || std::find(bytes.begin(), bytes.end(), std::uint8_t{0}) != bytes.end()) {
        forget_sasl();
        return error(out, r_auth_malformed);
    }
    request_auth(std::exchange(sasl_username_, {}), std::move(*secret), out);
}

void Session::request_auth(std::string username, crypto::SecretBytes secret, Effects& out) {
    phase_ = Phase::auth_wait;
    out.auth = AuthRequest{std::move(username), std::move(secret), sasl_mechanism_};
}

void Session::on_auth_result(AuthOutcome outcome, Effects& out) {
    if (phase_ != Phase::auth_wait) return;
    phase_ = Phase::ready;
    switch (outcome) {
        case AuthOutcome::ok:
            authenticated_ = true;
            out.replies += r_auth_ok;
            break;
        case AuthOutcome::bad_credentials: auth_failed(out, r_auth_failed); break;
        case AuthOutcome::temp_failure: error(out, r_auth_temp); break;
        case AuthOutcome::disabled: auth_failed(out, r_auth_disabled); break;
        case AuthOutcome::policy_denied: auth_failed(out, r_auth_policy); break;
    }
    after_turn(out);
}

// A wrong login: counted apart from other errors, so guessing ends after auth_failures_max.
void Session::auth_failed(Effects& out, std::string_view reply) {
    error(out, reply);
    if (++auth_failures_ >= limits_.auth_failures_max) goodbye(out, "421 4.7.0 ", " Error: too many failed logins\r\n");
}

// RFC 6409 8 and RFC 6409 6.1: the reverse-path must belong to the login; <> is for bounces only.
bool Session::submission_sender(std::string_view mailbox, Effects& out) {
    VMX_ASSERT(senders_ != nullptr);
    if (mailbox.empty()) {
        error(out, r_null_sender);
        return false;
    }
    if (senders_->may_send_as(mailbox)) return true;
    reply_for_address(out, "553 5.7.1 <", mailbox, ">: Sender address rejected: not owned by the authenticated user\r\n");
    return false;
}

// MAIL ... AUTH=<addr> (RFC 4954 5): checked for syntax, then ignored. The login's own identity is
// what counts here; a value a client claims is never trusted or passed on.
bool Session::auth_param(std::string_view value, Effects& out) {
    if (value == "<>" || valid_xtext(value)) return true;
    error(out, r_bad_param);
    return false;
}

// At the end of the message: one From: whose every address the login may send as, a Sender: (if
// any) the same; what RFC 6409 8 lets the caller add is noted.
std::string_view Session::header_refusal() {
    HeaderLimits limits;
    limits.section_bytes_max = limits_.header_bytes_max;
    const HeaderSummary headers = scan_headers(envelope_.body, limits);
    if (headers.problem != HeaderProblem::none) return r_header_bad;
    if (headers.from_fields != 1 || !headers.from_parsed || headers.from.empty()) return r_from_missing;
    for (const std::string& a : headers.from)
        if (!senders_->may_send_as(a)) return r_from_not_owned;
    if (headers.sender_fields > 1 || !headers.sender_parsed) return r_sender_not_owned;
    for (const std::string& a : headers.sender)
        if (!senders_->may_send_as(a)) return r_sender_not_owned;
    envelope_.has_date = headers.date_fields > 0;
    envelope_.has_message_id = headers.message_id_fields > 0;
    return {};
}

}  // namespace vmx::smtp
