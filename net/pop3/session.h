// POP3 server engine (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH PLAIN, RFC 3206 codes):
// bytes in, effects out; no I/O, clock, logging or store access. One Session per connection, touched
// only by the thread that owns the connection. Invariants: replies go out in command order; while
// the session waits on its caller (auth, maildrop, body, update, TLS) it consumes no input; nothing
// the client sent is echoed in a reply; secrets leave only inside crypto::SecretBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/secret_bytes.h"
#include "net/pop3/body_encoder.h"

namespace vmx::pop3 {

struct Limits {
    std::size_t command_line_bytes_max = 512;  // RFC 2449: 255 octets with CRLF; margin for long PASS
    std::size_t auth_line_bytes_max = 2048;    // AUTH PLAIN with initial response, SASL responses
    std::size_t username_bytes_max = 255;
    std::size_t secret_bytes_max = 1024;
    std::uint32_t errors_max = 10;             // protocol errors before the session is closed
    std::uint32_t auth_failures_max = 3;       // failed logins before the session is closed
    std::size_t messages_max = 100'000;        // a larger maildrop shows its first messages_max
    std::size_t reply_bytes_soft_max = std::size_t{64} * 1024;  // feed() stops taking commands past this much output
};

enum class Tls : std::uint8_t { none, active };
enum class Stls : std::uint8_t { not_offered, offered };
// Port 995: {active, not_offered}. Port 110: {none, offered}; USER/PASS/AUTH wait for STLS.
struct Transport {
    Tls tls = Tls::active;
    Stls stls = Stls::not_offered;
};

// Values advertised by CAPA (RFC 2449 sections 6.5 and 6.7).
struct Advertised {
    std::optional<std::uint32_t> expire_days;    // nullopt: "EXPIRE NEVER"
    std::optional<std::uint32_t> login_delay_s;  // nullopt: LOGIN-DELAY not advertised
};

enum class AuthMethod : std::uint8_t { user_pass, sasl_plain };

// A login attempt for the caller to check against the directory. The secret is wiped when the
// request is destroyed; it is never part of any string.
struct AuthRequest {
    std::string username;  // validated: 1..username_bytes_max octets, no control characters
    crypto::SecretBytes secret;
    AuthMethod method = AuthMethod::user_pass;
};

enum class AuthOutcome : std::uint8_t { ok, bad_credentials, in_use, temp_failure, disabled, policy_denied };

struct MessageInfo {
    std::uint64_t id = 0;           // the store's message id; opaque to the engine
    std::uint64_t size_octets = 0;  // as sent, with CRLF line ends and before dot-stuffing
    std::string uidl;               // 1..70 octets in 0x21..0x7E (RFC 1939)
};

// RETR (top_body_lines empty) or TOP: stream this message from its first byte.
struct BodyRequest {
    std::uint64_t message_id = 0;
    std::optional<std::uint64_t> top_body_lines;
};

enum class UpdateResult : std::uint8_t { ok, failed };
enum class LogoutReason : std::uint8_t { admin, session_limit };

// What the caller does, in this order: send `replies`; act on the rest. `close`: close after the
// replies are sent. `start_tls`: send the replies, drop any input not consumed, run the TLS
// handshake, then call on_tls_started().
struct Effects {
    std::string replies;
    bool close = false;
    bool start_tls = false;
    std::optional<AuthRequest> auth;   // answer with on_auth_result()
    std::optional<BodyRequest> body;   // answer with on_body_chunk()* then on_body_end() / on_body_failed()
    bool body_enough = false;          // TOP has all its lines: stop reading, call on_body_end()
    std::vector<std::uint64_t> expunge;  // QUIT: move these to trash, then on_update_done()

    void clear() noexcept;
};

// What the session waits for; the caller feeds input only in `input`.
// `writable`: a long multi-line reply is under way; call on_writable() once the replies are sent.
enum class Awaiting : std::uint8_t { input, writable, auth_result, maildrop, body, update, tls_handshake, nothing };

// Driving it: start(); on each read, feed() the unread bytes and keep what it did not consume; after
// every call send `replies`, then act on the Effects; whenever awaiting() is `input` again and bytes
// are kept, feed them. Results that arrive when nothing waits for them (after close) are ignored.
class Session {
public:
    Session(const Limits& limits, Transport transport, Advertised advertised);

    void start(Effects& out);  // the greeting
    // Consumes whole lines (a partial one is kept inside, bounded). Returns the bytes consumed; the
    // caller keeps the rest and feeds it again once awaiting() is `input` (after the callback that
    // ended the wait, or after sending the replies when the output limit stopped it).
    std::size_t feed(std::string_view input, Effects& out);

    void on_tls_started(Effects& out);  // fresh AUTHORIZATION state, no greeting (RFC 2595)
    void on_auth_result(AuthOutcome outcome, Effects& out);
    void on_maildrop(std::vector<MessageInfo> messages, Effects& out);  // after AuthOutcome::ok
    void on_maildrop_failed(Effects& out);
    void on_body_chunk(std::string_view chunk, Effects& out);
    void on_body_end(Effects& out);
    void on_body_failed(Effects& out);
    void on_update_done(UpdateResult result, Effects& out);
    void on_writable(Effects& out);  // the previous replies were sent: the next batch of a listing

    void on_timeout(Effects& out);                       // RFC 1939 autologout: close, no reply
    void on_drain(Effects& out);                         // server stopping
    void on_logout(LogoutReason reason, Effects& out);   // ended from outside: no UPDATE
    void on_close() noexcept;                            // connection dropped: nothing is deleted

    Awaiting awaiting() const noexcept;
    bool closed() const noexcept { return state_ == State::closed; }

private:
    enum class State : std::uint8_t {
        not_started, authorization, sasl_response, auth_pending, maildrop_pending,
        transaction, listing, body, update_pending, tls_pending, closed,
    };
    struct Command;
    static const Command command_table_[];

    struct Message {
        std::uint64_t id;
        std::uint64_t size_octets;
        std::string uidl;
        bool deleted;
    };

    std::size_t take_line(std::string_view input, Effects& out);
    std::size_t line_limit(std::string_view prefix) const noexcept;
    void handle_line(std::string_view line, Effects& out);
    void dispatch(std::string_view verb, std::string_view rest, Effects& out);
    void append_to_line(std::string_view part);
    void wipe_line() noexcept;

    void cmd_capa(std::string_view args, Effects& out);
    void cmd_stls(std::string_view args, Effects& out);
    void cmd_user(std::string_view args, Effects& out);
    void cmd_pass(std::string_view args, Effects& out);
    void cmd_auth(std::string_view args, Effects& out);
    void cmd_quit(std::string_view args, Effects& out);
    void cmd_stat(std::string_view args, Effects& out);
    void cmd_list(std::string_view args, Effects& out);
    void cmd_uidl(std::string_view args, Effects& out);
    void cmd_retr(std::string_view args, Effects& out);
    void cmd_top(std::string_view args, Effects& out);
    void cmd_dele(std::string_view args, Effects& out);
    void cmd_noop(std::string_view args, Effects& out);
    void cmd_rset(std::string_view args, Effects& out);

    enum class Listing : std::uint8_t { sizes, uidls };
    void listing(std::string_view args, Listing kind, Effects& out);
    void listing_line(std::size_t number, Listing kind, std::string& out) const;
    void continue_listing(Effects& out);
    void sasl_plain(std::string_view base64, Effects& out);
    void request_auth(std::string username, crypto::SecretBytes secret, AuthMethod method, Effects& out);
    std::size_t message_arg(std::string_view arg, Effects& out);
    void start_body(std::size_t number, std::optional<std::uint64_t> top_body_lines, Effects& out);
    void open_body_reply(Effects& out);
    void append_drop_summary(std::string& out) const;
    void append_drop_counts(std::string& out) const;
    std::pair<std::uint64_t, std::uint64_t> drop_totals() const noexcept;

    void reply_ok(std::string_view text, Effects& out);
    void reply_err(std::string_view text, Effects& out);  // counts a protocol error
    void auth_failed(std::string_view reply, Effects& out);
    void reply_shutdown(Effects& out);
    void close(Effects& out) noexcept;
    void finish_wait(Effects& out);  // back to TRANSACTION, or close when a drain was asked for

    Limits limits_;
    Transport transport_;
    Advertised advertised_;
    State state_ = State::not_started;
    std::string line_;                // a partial command line; wiped after each use
    bool discarding_ = false;         // inside an over-long line, dropped up to its LF
    std::uint32_t errors_ = 0;
    std::uint32_t auth_failures_ = 0;
    std::string user_;                // from USER, until PASS
    bool draining_ = false;
    std::vector<Message> messages_;
    Listing listing_kind_ = Listing::sizes;
    std::size_t listing_next_ = 0;    // next message of a LIST/UIDL going out in batches
    std::string body_ok_line_;        // the +OK line, sent with the first body bytes
    bool body_started_ = false;
    BodyEncoder encoder_;
};

}  // namespace vmx::pop3
