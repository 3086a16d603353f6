// The SMTP server engine (RFC 5321 with PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS,
// SMTPUTF8, CHUNKING) of the inbound MX, and in submission mode (RFC 6409) of ports 465 and 587:
// AUTH PLAIN and LOGIN (RFC 4954) only under TLS, nothing but EHLO/STARTTLS/AUTH before a login,
// the envelope sender and header From:/Sender: bound to the login. Bytes in, effects out. No I/O,
// no clock, no logging; one Session per connection, used by the connection's shard thread only.
// Memory per session is a few small fields plus the message being received (bounded by
// message_bytes_max) and its recipients (bounded by recipients_max).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_bytes.h"
#include "net/smtp/path.h"

namespace vmx::smtp {

struct Limits {
    std::size_t line_bytes_max = 1000;          // a command line with its CRLF (RFC 5321 4.5.3.1.4 asks >= 512)
    std::size_t text_line_bytes_max = 1000;     // a DATA line with its CRLF (RFC 5321 4.5.3.1.6)
    std::size_t message_bytes_max = 10'240'000; // announced in SIZE, enforced while reading
    std::size_t recipients_max = 1000;          // RCPTs per message, duplicates too; more -> 452 4.5.3
    std::size_t hop_count_max = 50;             // Received: fields; more -> 554 5.4.6 (RFC 5321 6.3)
    std::uint32_t errors_max = 20;              // error replies before 421 4.7.0 and disconnect
    std::size_t reply_bytes_max = std::size_t{16} * 1024;  // feed() pauses when this much reply text is pending
    // Submission only.
    std::uint32_t auth_failures_max = 3;        // failed AUTHs before 421 4.7.0 and disconnect
    std::size_t username_bytes_max = 320;       // an AUTH identity (an address fits)
    std::size_t secret_bytes_max = 1024;        // an AUTH password
    std::size_t header_bytes_max = std::size_t{256} * 1024;  // the header section scanned for From:/Sender:
};

enum class Mode : std::uint8_t {
    mx,          // port 25: AUTH refused, any sender, recipients checked by the policy
    submission,  // 465/587: AUTH required before MAIL, sender bound to the login (SenderPolicy)
};

enum class StartTls : std::uint8_t {
    unavailable,  // no certificate: STARTTLS -> 454
    offered,      // advertised, optional (port 25)
    required,     // MAIL/RCPT/DATA/BDAT refused with 530 until TLS is active
};

enum class Transport : std::uint8_t { plain, tls };  // tls: implicit TLS (the connection began with it)

struct Options {
    std::string hostname = "localhost";  // this server's name in the greeting and replies
    StartTls starttls = StartTls::offered;
    Transport transport = Transport::plain;
    Mode mode = Mode::mx;
};

// A recipient as the policy sees it: syntax and relay tricks already refused.
struct Address {
    std::string_view text;        // "local@domain" as received ("postmaster" alone is allowed)
    std::string_view local_part;  // a dot-string (UTF-8 atoms only under SMTPUTF8)
    std::string_view domain;      // a domain name (U-labels only under SMTPUTF8); empty for postmaster
    bool smtputf8 = false;
};

enum class RcptVerdict : std::uint8_t {
    accepted,      // 250 2.1.5
    unknown_user,  // 550 5.1.1
    not_local,     // 550 5.7.1 relay access denied
    over_quota,    // 452 4.2.2
    temp_failure,  // 451 4.3.0 (directory unreadable)
    rate_limited,  // 450 4.7.1: the client's address sent too many recipients lately
    disabled,      // 550 5.2.1: the mailbox exists but is closed (RFC 3463 X.2.1)
    pending,       // the caller looks it up elsewhere and answers with on_rcpt_checked(); nothing is
                   // read meanwhile (a store shared by nodes: the look-up waits on the network)
};

struct RcptDecision {
    RcptVerdict verdict = RcptVerdict::unknown_user;
    std::uint64_t user_id = 0;  // the local user, passed through to the envelope
};

// The directory look-up, supplied by the caller. Must not block (an LMDB read transaction): a look-up
// that would answers `pending` and calls on_rcpt_checked() later.
class RecipientPolicy {
public:
    virtual ~RecipientPolicy() = default;
    virtual RcptDecision check(const Address& recipient) = 0;
    // MAIL: false refuses the transaction for now (450 4.7.1: the client's address sent too many
    // messages lately).
    virtual bool mail_allowed() { return true; }
};

// Submission: whom the logged-in user may send as (their address, the allowed senders the admin
// added). Supplied by the caller, asked only after a successful AUTH; must not block.
class SenderPolicy {
public:
    virtual ~SenderPolicy() = default;
    virtual bool may_send_as(std::string_view address) = 0;
};

enum class AuthMechanism : std::uint8_t { plain, login };

// A login for the caller to check (off the shard: Argon2id); answered with on_auth_result().
struct AuthRequest {
    std::string username;
    crypto::SecretBytes secret;
    AuthMechanism mechanism = AuthMechanism::plain;
};

enum class AuthOutcome : std::uint8_t {
    ok,               // 235 2.7.0
    bad_credentials,  // 535 5.7.8 (unknown users the same)
    temp_failure,     // 454 4.7.0
    disabled,         // 525 5.7.13 (only after the right secret)
    policy_denied,    // 535 5.7.8 ... policy (only after the right secret)
};

struct EnvelopeRecipient {
    std::string address;
    std::uint64_t user_id = 0;
    friend bool operator==(const EnvelopeRecipient&, const EnvelopeRecipient&) = default;
};

// A complete message, handed to the caller once; durable storage answers with on_stored().
struct Envelope {
    std::string mail_from;  // empty for the null reverse-path <>
    std::vector<EnvelopeRecipient> recipients;
    std::string body;       // dot-unstuffed, every line ending in CRLF (DATA) or as chunked (BDAT)
    std::string helo_name;
    bool body_8bitmime = false;  // MAIL BODY=8BITMIME
    bool smtputf8 = false;       // MAIL SMTPUTF8
    bool esmtp = false;          // the client said EHLO (for the Received: protocol name)
    bool tls = false;            // received over TLS (STARTTLS or implicit)
    // Submission only: what the header section already has (RFC 6409 8.2 and 8.3 add the rest).
    bool has_date = false;
    bool has_message_id = false;
};

// What the caller must do after a call. Calls append to it; the caller acts on it and clears it
// (replies first: the 220 of STARTTLS must be sent before the handshake starts).
struct Effects {
    std::string replies;          // send these bytes, in order
    bool start_tls = false;       // drop every unconsumed input byte, run the handshake, then on_tls_started()
    bool close = false;           // close after the replies are sent
    std::optional<Envelope> message_ready;  // store durably, then on_stored()
    std::optional<AuthRequest> auth;        // check the login, then on_auth_result()
};

enum class StoreOutcome : std::uint8_t {
    stored,  // durable: 250 2.0.0
    failed,  // 451 4.3.0
    full,    // 452 4.3.1
    over_rate,  // 450 4.7.1: the user's hourly sending limit (submission)
    dmarc_reject,       // 550 5.7.1: the From: domain's DMARC policy says reject (RFC 7489 6.7)
    unauthenticated,    // 550 5.7.1: From: names a local domain, and DMARC does not pass
    checks_busy,        // 451 4.7.0: the workers are saturated, or a DNS answer missing for now decided
    unreadable_headers, // 550 5.7.1: a header section the checks cannot trust (RFC 7489 6.6.1)
};

enum class EndReason : std::uint8_t {
    draining,       // the server stops: 421 4.3.2
    logged_out,     // remote logout of the user: 421 4.7.0
    session_limit,  // the organisation's session length: 421 4.7.0
};

class Session {
public:
    // limits, options and policy must outlive the session (they belong to the shard's config
    // snapshot and directory), so a session copies nothing and allocates nothing up front.
    // Submission mode needs `senders` (asked at MAIL and for the header section); the MX ignores it.
    Session(const Limits& limits, const Options& options, RecipientPolicy& policy, SenderPolicy* senders = nullptr);

    // The 220 greeting; call once when the connection opens.
    void greet(Effects& out);
    // Processes whole command lines and message bytes; returns how many bytes of input were used.
    // The caller keeps the rest and offers it again with more input appended. It returns early
    // (leaving input) while a message waits for on_stored(), when replies reach reply_bytes_max,
    // and for an incomplete line, which the caller must hold (up to the line limits).
    std::size_t feed(std::string_view input, Effects& out);
    // The STARTTLS handshake finished: back to the initial state (RFC 3207 4.2), EHLO needed again.
    void on_tls_started(Effects& out);
    // The message from message_ready was stored (or not); the 250 is sent only here.
    void on_stored(StoreOutcome outcome, Effects& out, std::string_view queue_id = {});
    // Idle or session timeout: 421 4.4.2 and close.
    void on_timeout(Effects& out);
    // The server is stopping: 421 4.3.2 now if between commands, else right after the current
    // message's reply.
    void on_drain(Effects& out) { on_end(EndReason::draining, out); }
    // The session must end (drain, remote logout, session length): 421 now if between commands,
    // else right after the current message's reply or login verdict.
    void on_end(EndReason reason, Effects& out);
    // The verdict on the login from `auth`. Nothing is read while it is awaited.
    void on_auth_result(AuthOutcome outcome, Effects& out);
    // The verdict on the recipient the policy answered `pending` for (a second `pending` counts as
    // a temporary failure). Nothing is read while it is awaited.
    void on_rcpt_checked(RcptDecision decision, Effects& out);

    bool awaiting_store() const noexcept { return phase_ == Phase::store_wait; }
    bool awaiting_recipient() const noexcept { return phase_ == Phase::rcpt_wait; }
    bool closed() const noexcept { return phase_ == Phase::closed; }
    bool tls_active() const noexcept { return tls_active_; }
    bool authenticated() const noexcept { return authenticated_; }

    // The phases; a command's allowed set is a mask of the first five.
    enum class Phase : std::uint8_t {
        initial,     // no EHLO/HELO yet
        ready,       // greeted, no transaction
        mail,        // MAIL accepted, no recipient yet
        rcpt,        // at least one recipient accepted
        bdat,        // between BDAT chunks of one message
        data,        // reading DATA lines
        chunk,       // reading the bytes of a BDAT chunk
        sasl,        // AUTH sent a 334 challenge: the next line is the client's response
        store_wait,  // the message is with the caller; nothing is read until on_stored()
        auth_wait,   // the login is with the caller; nothing is read until on_auth_result()
        rcpt_wait,   // a recipient is with the caller; nothing is read until on_rcpt_checked()
        tls_wait,    // STARTTLS accepted; input is discarded until on_tls_started()
        closed,
    };

    struct Command;

private:
    std::size_t feed_command(std::string_view input, Effects& out);
    std::size_t feed_data(std::string_view input, Effects& out);
    std::size_t feed_chunk(std::string_view input, Effects& out);
    void dispatch(std::string_view line, Effects& out);
    void data_line(std::string_view line, Effects& out);
    void finish_message(Effects& out);
    void finish_chunk(Effects& out);

    void cmd_ehlo(std::string_view args, Effects& out);
    void cmd_helo(std::string_view args, Effects& out);
    void cmd_mail(std::string_view args, Effects& out);
    void cmd_rcpt(std::string_view args, Effects& out);
    void cmd_data(std::string_view args, Effects& out);
    void cmd_bdat(std::string_view args, Effects& out);
    void cmd_rset(std::string_view args, Effects& out);
    void cmd_noop(std::string_view args, Effects& out);
    void cmd_quit(std::string_view args, Effects& out);
    void cmd_vrfy(std::string_view args, Effects& out);
    void cmd_help(std::string_view args, Effects& out);
    void cmd_starttls(std::string_view args, Effects& out);
    void cmd_expn(std::string_view args, Effects& out);   // refused by policy, see session.cc
    void cmd_etrn(std::string_view args, Effects& out);
    void cmd_turn(std::string_view args, Effects& out);
    void cmd_auth(std::string_view args, Effects& out);
    void cmd_forbidden(std::string_view args, Effects& out);

    // Submission (session_submission.cc).
    void auth_start(std::string_view args, Effects& out);
    void sasl_too_long(Effects& out);
    void sasl_response(std::string_view line, Effects& out);
    void sasl_plain(std::string_view base64, Effects& out);
    void sasl_login_name(std::string_view base64, Effects& out);
    void sasl_login_secret(std::string_view base64, Effects& out);
    void request_auth(std::string username, crypto::SecretBytes secret, Effects& out);
    void auth_failed(Effects& out, std::string_view reply);
    bool submission_sender(std::string_view mailbox, Effects& out);
    bool auth_param(std::string_view value, Effects& out);
    std::string_view header_refusal();
    bool too_many_hops() const noexcept;
    std::string_view end_reply() const noexcept;
    void forget_sasl();

    bool mail_params(std::string_view params, Effects& out);
    bool rcpt_tricks(const Path& path, Effects& out);
    bool valid_mailbox(const Path& path, bool smtputf8) const noexcept;
    std::string_view bdat_refusal() const noexcept;
    static const Command* find_command(std::string_view verb) noexcept;
    bool greeted_helo(std::string_view args, Effects& out);
    void accept_recipient(std::string_view address, std::uint64_t user_id);
    void rcpt_verdict(std::string_view address, RcptDecision decision, Effects& out);
    void error(Effects& out, std::string_view text);
    void reply_for_address(Effects& out, std::string_view head, std::string_view address, std::string_view tail);
    void after_turn(Effects& out);
    void goodbye(Effects& out, std::string_view head, std::string_view tail);
    void scan_chunk(std::string_view piece) noexcept;
    void reset_transaction();
    void release_body();

    const Limits& limits_;
    const Options& options_;
    RecipientPolicy& policy_;
    SenderPolicy* senders_;
    Envelope envelope_;               // the transaction being built
    std::string helo_name_;
    std::uint64_t body_bytes_ = 0;    // message size so far (counted even after a refusal)
    std::uint64_t chunk_left_ = 0;    // bytes of the current BDAT chunk still to read
    std::uint32_t errors_ = 0;
    std::uint32_t rejected_rcpts_ = 0;
    std::uint32_t overshoot_ = 0;     // RCPTs answered "too many recipients" in this transaction
    std::uint32_t rcpts_accepted_ = 0;  // RCPTs answered 250 in this transaction, duplicates included
    std::uint32_t auth_failures_ = 0;
    Phase phase_ = Phase::initial;
    AuthMechanism sasl_mechanism_ = AuthMechanism::plain;
    std::string sasl_username_;       // LOGIN: the name, while the password is asked for
    std::string pending_rcpt_;        // rcpt_wait: the address whose verdict is awaited
    EndReason end_reason_ = EndReason::draining;
    bool esmtp_ = false;
    bool tls_active_ = false;
    bool draining_ = false;            // on_end() was called: 421 at the next turn between commands
    bool authenticated_ = false;
    bool skipping_line_ = false;       // an overlong line is being skipped up to its LF
    bool prev_line_crlf_ = true;       // the previous DATA line ended in CRLF (a "." line may end DATA)
    bool cr_pending_ = false;          // the last byte read (BDAT, or a skipped DATA line) was CR
    bool chunk_last_ = false;          // the chunk being read is BDAT ... LAST
    bool chunk_discard_ = false;       // the chunk is read and dropped (its BDAT was refused)
    bool bad_line_end_ = false;        // bare CR or LF seen in this message
    bool line_too_long_ = false;       // a DATA line passed text_line_bytes_max
    bool too_big_ = false;             // the message passed message_bytes_max
    std::string_view chunk_refusal_;   // the reply owed after a refused BDAT chunk
    Phase resume_phase_ = Phase::initial;  // where a refused BDAT chunk returns to
};

}  // namespace vmx::smtp
