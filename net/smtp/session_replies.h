// The SMTP engine's fixed replies, shared by its files (session.cc, session_data.cc,
// session_submission.cc). Constants only; internal to net/smtp.
#pragma once

#include <string_view>

namespace vmx::smtp::replies {

// Fixed replies (Postfix's wording where it has one). Enhanced status codes (RFC 3463) on all but
// the greeting, EHLO/HELO and 354.
inline constexpr std::string_view r_ok = "250 2.0.0 Ok\r\n";
inline constexpr std::string_view r_mail_ok = "250 2.1.0 Ok\r\n";
inline constexpr std::string_view r_rcpt_ok = "250 2.1.5 Ok\r\n";
inline constexpr std::string_view r_data_go = "354 End data with <CR><LF>.<CR><LF>\r\n";
inline constexpr std::string_view r_bye = "221 2.0.0 Bye\r\n";
inline constexpr std::string_view r_vrfy = "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
inline constexpr std::string_view r_help =
    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\r\n";
inline constexpr std::string_view r_tls_go = "220 2.0.0 Ready to start TLS\r\n";
inline constexpr std::string_view r_unknown = "500 5.5.2 Error: command not recognized\r\n";
inline constexpr std::string_view r_nul = "500 5.5.2 Error: NUL character in command\r\n";
inline constexpr std::string_view r_bare_cr = "500 5.5.2 Error: bare <CR> in command\r\n";
inline constexpr std::string_view r_line_too_long = "500 5.5.2 Error: line too long\r\n";
// Refusals by policy, each saying why. EXPN would disclose list members (RFC 5321 7.3 lets a
// server refuse it); ETRN asks to flush mail queued for another host, and an MX for its own
// domains queues none; TURN reverses the connection without authentication (RFC 2821 4.1.1
// deprecates it); AUTH belongs to the submission listeners, never to the MX (Postfix's wording).
inline constexpr std::string_view r_expn_refused = "502 5.7.0 EXPN refused: list members are not disclosed\r\n";
inline constexpr std::string_view r_etrn_refused = "502 5.5.1 ETRN refused: no mail is queued here for other hosts\r\n";
inline constexpr std::string_view r_turn_refused = "502 5.7.0 TURN refused: it reverses the connection without authentication\r\n";
inline constexpr std::string_view r_auth_refused = "503 5.5.1 Error: authentication not enabled\r\n";
inline constexpr std::string_view r_need_helo = "503 5.5.1 Error: send HELO/EHLO first\r\n";
inline constexpr std::string_view r_nested_mail = "503 5.5.1 Error: nested MAIL command\r\n";
inline constexpr std::string_view r_need_mail = "503 5.5.1 Error: need MAIL command\r\n";
inline constexpr std::string_view r_need_rcpt = "503 5.5.1 Error: need RCPT command\r\n";
inline constexpr std::string_view r_data_after_bdat = "503 5.5.1 Error: DATA after BDAT\r\n";
inline constexpr std::string_view r_in_transaction = "503 5.5.1 Error: MAIL transaction in progress\r\n";
inline constexpr std::string_view r_no_valid_rcpt = "554 5.5.1 Error: no valid recipients\r\n";
inline constexpr std::string_view r_tls_active = "554 5.5.1 Error: TLS already active\r\n";
inline constexpr std::string_view r_tls_unavailable = "454 4.7.0 TLS not available due to local problem\r\n";
inline constexpr std::string_view r_tls_first = "530 5.7.0 Must issue a STARTTLS command first\r\n";
inline constexpr std::string_view r_auth_first = "530 5.7.0 Authentication required\r\n";
inline constexpr std::string_view r_syntax_helo = "501 5.5.4 Syntax: EHLO hostname\r\n";
inline constexpr std::string_view r_bad_helo = "501 5.5.2 Error: invalid EHLO/HELO hostname\r\n";
inline constexpr std::string_view r_syntax_mail = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
inline constexpr std::string_view r_syntax_rcpt = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
inline constexpr std::string_view r_syntax_bdat = "501 5.5.4 Syntax: BDAT count [LAST]\r\n";
inline constexpr std::string_view r_syntax_no_args = "501 5.5.4 Syntax: no parameters allowed\r\n";
inline constexpr std::string_view r_bad_sender = "501 5.1.7 Bad sender address syntax\r\n";
inline constexpr std::string_view r_bad_rcpt = "501 5.1.3 Bad recipient address syntax\r\n";
inline constexpr std::string_view r_need_smtputf8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n";
inline constexpr std::string_view r_bad_param = "501 5.5.4 Bad ESMTP parameter syntax\r\n";
inline constexpr std::string_view r_unsupported_param = "555 5.5.4 Unsupported option\r\n";
inline constexpr std::string_view r_size_exceeded = "552 5.3.4 Message size exceeds fixed limit\r\n";
inline constexpr std::string_view r_too_many_rcpts = "452 4.5.3 Error: too many recipients\r\n";
inline constexpr std::string_view r_bare_line_end = "550 5.5.2 Error: bare <CR> or <LF> in message data\r\n";
inline constexpr std::string_view r_text_line_too_long = "550 5.5.2 Error: message line too long\r\n";
inline constexpr std::string_view r_store_failed = "451 4.3.0 Error: queue file write error\r\n";
inline constexpr std::string_view r_mail_rate = "450 4.7.1 Error: too much mail from your address, try again later\r\n";
inline constexpr std::string_view r_mail_loop = "554 5.4.6 Error: too many hops (Received: fields): a mail loop\r\n";
inline constexpr std::string_view r_store_full = "452 4.3.1 Insufficient system storage\r\n";
inline constexpr std::string_view r_over_rate = "450 4.7.1 Error: hourly sending limit reached, try again later\r\n";
inline constexpr std::string_view r_dmarc_reject = "550 5.7.1 Error: rejected by the DMARC policy of the From: domain\r\n";
inline constexpr std::string_view r_unauthenticated =
    "550 5.7.1 Error: From: names a domain of this server, but the message is not authenticated\r\n";
inline constexpr std::string_view r_checks_busy = "451 4.7.0 Error: message checks could not finish, try again later\r\n";
inline constexpr std::string_view r_unreadable_headers =
    "550 5.7.1 Error: malformed header section, or more than one From: field or domain\r\n";
inline constexpr std::string_view r_forbidden = "221 2.7.0 Error: this is an SMTP server. Goodbye\r\n";

}  // namespace vmx::smtp::replies
