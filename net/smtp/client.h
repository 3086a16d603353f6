// The SMTP client engine of outbound delivery (RFC 5321 client side, with PIPELINING, SIZE,
// 8BITMIME, SMTPUTF8, STARTTLS, and AUTH PLAIN/LOGIN towards a smarthost): server bytes in, commands and outcomes out. No I/O, no clock, no
// logging; one Client per connection, used by the delivery agent's thread only. Invariants: every
// send() ends in exactly one `done`; nothing is read between start_tls and on_tls_started(); memory
// is one reply (reply_lines_max lines) plus the message in flight's commands and dot-stuffed body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret_bytes.h"

namespace vmx::smtp {

struct ClientLimits {
    std::size_t reply_line_bytes_max = 2048;  // one reply line with its CRLF (RFC 5321 4.5.3.1.5 says 512; be lenient)
    std::size_t reply_lines_max = 100;        // lines of one multiline reply (an EHLO reply is the longest)
    std::size_t line_bytes_max = 998;         // a body line without CRLF (RFC 5321 4.5.3.1.6); raise it to allow longer
    std::size_t recipients_max = 1000;        // per send(); the caller splits longer lists
};

enum class TlsPolicy : std::uint8_t {
    none,     // never STARTTLS, even when offered
    may,      // STARTTLS when offered; plaintext when not offered or refused (RFC 7435)
    encrypt,  // STARTTLS required: not offered or refused fails the session
    verify,   // as encrypt for this engine; the caller's handshake also verifies the certificate
};

// A smarthost's credential (RFC 4954). Copies duplicate the password into secret memory, so
// options can be handed to each connection; the password never reaches a Reply.
struct ClientAuth {
    std::string username;          // the authcid; no NUL (PLAIN cannot carry one)
    crypto::SecretBytes password;  // no NUL either

    ClientAuth() = default;
    ClientAuth(std::string user, crypto::SecretBytes pass) : username(std::move(user)), password(std::move(pass)) {}
    ClientAuth(const ClientAuth& other) : username(other.username), password(crypto::SecretBytes::copy_of(other.password.view())) {}
    ClientAuth& operator=(const ClientAuth& other) {
        if (this != &other) *this = ClientAuth(other);
        return *this;
    }
    ClientAuth(ClientAuth&&) noexcept = default;
    ClientAuth& operator=(ClientAuth&&) noexcept = default;
};

struct ClientOptions {
    std::string helo;                  // our name in EHLO/HELO: a domain or an address literal
    TlsPolicy tls = TlsPolicy::may;
    bool tls_possible = true;          // false after a failed handshake retried in plaintext
    std::optional<ClientAuth> auth;    // AUTH after EHLO (after the post-STARTTLS EHLO with TLS)
    bool auth_without_tls = false;     // send the credential in plaintext; otherwise no TLS fails the session
};

struct OutboundMessage {
    std::string sender;                    // reverse-path without brackets, "" for <>
    std::vector<std::string> recipients;   // forward-paths without brackets, 1..recipients_max
    std::string_view body;                 // canonical CRLF text, not dot-stuffed; copied by send()
    bool smtputf8 = false;                 // needs the server's SMTPUTF8, else a permanent failure (RFC 6531 3.2)
    bool eight_bit = false;                // BODY=8BITMIME when the server offers it
};

enum class DeliveryStatus : std::uint8_t { accepted, temp_failure, perm_failure };

enum class ReplyFrom : std::uint8_t {
    server,  // what the remote server answered
    client,  // made up by this engine (a refusal before sending, a protocol error, a timeout)
};

struct Reply {
    int code = 0;       // 200..599
    std::string text;   // the text after the code, lines joined by a space; control bytes (and all
                        // non-ASCII bytes when the text is not UTF-8) replaced by '?'
    ReplyFrom from = ReplyFrom::server;
    friend bool operator==(const Reply&, const Reply&) = default;
};

struct RecipientOutcome {
    std::size_t index = 0;  // into OutboundMessage::recipients
    DeliveryStatus status = DeliveryStatus::temp_failure;
    Reply reply;            // its RCPT's refusal, or the reply that decided it (MAIL, DATA, the final dot, the session's end)
    friend bool operator==(const RecipientOutcome&, const RecipientOutcome&) = default;
};

struct MessageOutcome {
    DeliveryStatus status = DeliveryStatus::temp_failure;  // accepted if any recipient was; else temp if any was
    Reply reply;                                          // the reply that ended the transaction
    std::vector<RecipientOutcome> recipients;             // one per recipient, in order
    friend bool operator==(const MessageOutcome&, const MessageOutcome&) = default;
};

// What the caller must do after a call. Calls append to it; the caller acts on it and clears it.
struct ClientEffects {
    std::string commands;                  // send these bytes, in order
    bool start_tls = false;                // drop every unconsumed server byte, handshake, then on_tls_started()
    bool close = false;                    // close after sending the commands
    std::optional<MessageOutcome> done;    // the outcome of the last send(); the caller must take it before the next
    std::optional<Reply> session_failed;   // greeting refused, 421, TLS required and unavailable, protocol
                                           // error, limit passed, abort(): the connection is finished (temporary)
};

// What EHLO offered (empty after HELO, and forgotten at STARTTLS, RFC 3207 4.2).
struct Extensions {
    bool pipelining = false;             // RFC 2920
    bool size = false;                   // RFC 1870
    std::uint64_t size_bytes_max = 0;    // SIZE n; 0 when no limit was announced
    bool eight_bit_mime = false;         // RFC 6152
    bool smtputf8 = false;               // RFC 6531
    bool starttls = false;               // RFC 3207
    bool enhanced_status_codes = false;  // RFC 2034
    bool chunking = false;               // RFC 3030 (offered; this engine sends DATA)
    std::string auth_mechanisms;         // "PLAIN LOGIN": upper case, one space apart (RFC 4954)
    bool offers_auth(std::string_view mechanism) const noexcept;
};

// Why the caller ends a session the engine did not end itself.
enum class Abort : std::uint8_t {
    timeout,          // 421 4.4.2: no reply in time
    connection_lost,  // 421 4.4.2: the server closed, or a read or write failed
    tls_failed,       // 421 4.7.5: the handshake failed (retry with tls_possible = false under `may`)
};

class Client {
public:
    Client(const ClientLimits& limits, ClientOptions options);

    // Reads whole reply lines; returns how many bytes were used. The caller holds the rest (at most
    // one incomplete line, under reply_line_bytes_max) and offers it again with more appended.
    // After start_tls the caller drops what is left: those bytes were sent before the handshake.
    std::size_t feed(std::string_view server_bytes, ClientEffects& out);
    // The STARTTLS handshake succeeded: EHLO again (RFC 3207 4.2).
    void on_tls_started(ClientEffects& out);
    // Only when ready(): MAIL, RCPT..., DATA (one group under PIPELINING, RFC 2920), the body after
    // 354. A message refused before sending (SIZE, SMTPUTF8, bad line ends, an invalid address) is
    // done at once with nothing sent.
    void send(const OutboundMessage& message, ClientEffects& out);
    // QUIT and close; with a message in flight, close at once (its done: temporary failure).
    void quit(ClientEffects& out);
    // The caller ends the session: session_failed, close, a message in flight is done (temporary).
    void abort(Abort why, ClientEffects& out);

    // Greeted (with TLS if the policy asks for it) and no message in flight.
    bool ready() const noexcept { return phase_ == Phase::ready; }
    bool closed() const noexcept { return phase_ == Phase::closed; }
    // The phase is declared below; auth means the last commands carried a credential.
    auto phase() const noexcept { return phase_; }
    bool tls_active() const noexcept { return tls_active_; }
    const Extensions& extensions() const noexcept { return extensions_; }

    enum class Phase : std::uint8_t {
        greeting,     // waiting for the 220
        ehlo,         // EHLO sent
        helo,         // EHLO refused with 5xx, HELO sent
        starttls,     // STARTTLS sent
        tls_wait,     // 220 to STARTTLS: nothing is read until on_tls_started()
        auth,         // AUTH sent (and LOGIN's responses): nothing else is sent until 235
        ready,        // may send() or quit()
        transaction,  // RSET/MAIL/RCPT/DATA sent, replies awaited
        dot,          // body and final dot sent (or a lone dot ending a dead transaction)
        closed,
    };

private:
    enum class StepKind : std::uint8_t { rset, mail, rcpt, data };
    struct Step {
        StepKind kind;
        std::size_t recipient;  // rcpt: index into the message's recipients
        std::string line;       // the command with its CRLF
    };
    enum class RcptState : std::uint8_t { open, accepted, ended };
    enum class Farewell : std::uint8_t { quit, silent };  // QUIT before closing, or not
    // Where an AUTH exchange stands: what the next reply answers.
    enum class AuthStep : std::uint8_t { plain, login, login_username, login_password };

    void read_line(std::string_view line, ClientEffects& out);
    void on_reply(const Reply& reply, ClientEffects& out);
    void on_greeting(const Reply& reply, ClientEffects& out);
    void on_ehlo(const Reply& reply, ClientEffects& out);
    void on_helo(const Reply& reply, ClientEffects& out);
    void on_starttls(const Reply& reply, ClientEffects& out);
    void begin_auth(ClientEffects& out);
    void on_auth(const Reply& reply, ClientEffects& out);
    void on_step(const Reply& reply, ClientEffects& out);
    void on_data(const Reply& reply, ClientEffects& out);
    void on_dot(const Reply& reply, ClientEffects& out);
    void after_hello(ClientEffects& out);
    void advance(ClientEffects& out);
    bool refuse_early(const OutboundMessage& m, ClientEffects& out);
    void plan(const OutboundMessage& m, ClientEffects& out);
    void finish(const Reply& last, ClientEffects& out);
    void end_session(const Reply& why, Farewell farewell, ClientEffects& out);
    void protocol_error(std::string_view what, ClientEffects& out);
    void emit_done(const Reply& last, ClientEffects& out);
    const Reply& dead_reply() const;
    void reset_reader();
    void release_body();
    void release_transaction();

    const ClientLimits limits_;
    const ClientOptions options_;
    Extensions extensions_;
    Phase phase_ = Phase::greeting;
    bool tls_active_ = false;
    bool need_rset_ = false;  // the last message failed after its MAIL went out (RSET before the next)
    AuthStep auth_step_ = AuthStep::plain;

    // The reply being read.
    int reply_code_ = 0;
    std::size_t reply_lines_ = 0;
    std::string reply_text_;  // raw line texts, '\n' between them

    // The message in flight.
    std::vector<Step> steps_;
    std::size_t sent_ = 0;      // steps written to commands
    std::size_t answered_ = 0;  // steps whose reply was read
    std::size_t accepted_ = 0;  // recipients with a 2xx to RCPT
    std::vector<RcptState> rcpt_state_;
    MessageOutcome outcome_;
    std::string body_;          // dot-stuffed, with the final dot; written after 354
    std::optional<Reply> mail_refused_;
    std::optional<Reply> last_rcpt_refusal_;
    bool lone_dot_ = false;     // the dot ends a transaction with no recipient (354 after a pipelined group failed)
};

}  // namespace vmx::smtp
