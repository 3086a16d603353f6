// POP3 command table and handlers of Session (see session.h). Dispatch is one table of
// {verb, handler, states, flags}; handlers validate every argument and reply without echoing what
// the client sent. Single-threaded like its connection.
#include <algorithm>
#include <utility>

#include "net/sasl/sasl_plain.h"
#include "net/pop3/session.h"
#include "net/pop3/text.h"

namespace vmx::pop3 {
namespace {

enum StateBits : std::uint8_t { in_authorization = 1, in_transaction = 2 };
enum class CommandFlag : std::uint8_t {
    none,
    needs_tls,  // refused on a plain connection before STLS (RFC 2595 section 2.1, RFC 8314)
};

constexpr std::size_t message_number_digits_max = 10;
constexpr std::size_t line_count_digits_max = 18;

}  // namespace

struct Session::Command {
    std::string_view verb;
    void (Session::*handler)(std::string_view args, Effects& out);
    std::uint8_t states;
    CommandFlag flags;
};

const Session::Command Session::command_table_[] = {
    {"CAPA", &Session::cmd_capa, in_authorization | in_transaction, CommandFlag::none},
    {"STLS", &Session::cmd_stls, in_authorization, CommandFlag::none},
    {"USER", &Session::cmd_user, in_authorization, CommandFlag::needs_tls},
    {"PASS", &Session::cmd_pass, in_authorization, CommandFlag::needs_tls},
    {"AUTH", &Session::cmd_auth, in_authorization, CommandFlag::needs_tls},
    {"QUIT", &Session::cmd_quit, in_authorization | in_transaction, CommandFlag::none},
    {"STAT", &Session::cmd_stat, in_transaction, CommandFlag::none},
    {"LIST", &Session::cmd_list, in_transaction, CommandFlag::none},
    {"UIDL", &Session::cmd_uidl, in_transaction, CommandFlag::none},
    {"RETR", &Session::cmd_retr, in_transaction, CommandFlag::none},
    {"TOP", &Session::cmd_top, in_transaction, CommandFlag::none},
    {"DELE", &Session::cmd_dele, in_transaction, CommandFlag::none},
    {"NOOP", &Session::cmd_noop, in_transaction, CommandFlag::none},
    {"RSET", &Session::cmd_rset, in_transaction, CommandFlag::none},
};

void Session::dispatch(std::string_view verb, std::string_view rest, Effects& out) {
    const auto* end = std::end(command_table_);
    const auto* cmd = std::find_if(std::begin(command_table_), end, [&](const Command& c) { return iequals(c.verb, verb); });
    if (cmd == end) return reply_err("Unknown command", out);
    const std::uint8_t bit = state_ == State::transaction ? in_transaction : in_authorization;
    if ((cmd->states & bit) == 0) return reply_err("Command not valid in this state", out);
    if (cmd->flags == CommandFlag::needs_tls && transport_.tls == Tls::none) {
        return reply_err(transport_.stls == Stls::offered ? "[AUTH] TLS required, issue STLS first"
                                                          : "[AUTH] Login requires a TLS connection", out);
    }
    (this->*cmd->handler)(rest, out);
}

// ---- AUTHORIZATION -----------------------------------------------------------------------------

void Session::cmd_capa(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("CAPA takes no arguments", out);
    std::string& r = out.replies;
    r.append("+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (state_ == State::authorization) {
        if (transport_.tls == Tls::active) r.append("USER\r\nSASL PLAIN\r\n");
        if (transport_.tls == Tls::none && transport_.stls == Stls::offered) r.append("STLS\r\n");
    }
    if (advertised_.expire_days) {
        r.append("EXPIRE ");
        append_number(r, *advertised_.expire_days);
        r.append("\r\n");
    } else {
        r.append("EXPIRE NEVER\r\n");
    }
    if (advertised_.login_delay_s) {
        r.append("LOGIN-DELAY ");
        append_number(r, *advertised_.login_delay_s);
        r.append("\r\n");
    }
    r.append(".\r\n");
}

// RFC 2595 section 4: after +OK the caller drops unread input (no command may be injected before
// the handshake) and starts TLS; feed() stops right after this line.
void Session::cmd_stls(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("STLS takes no arguments", out);
    if (transport_.tls == Tls::active) return reply_err("Already using TLS", out);
    if (transport_.stls == Stls::not_offered) return reply_err("STLS not available", out);
    user_.clear();
    state_ = State::tls_pending;
    out.replies.append("+OK Begin TLS negotiation\r\n");
    out.start_tls = true;
}

void Session::cmd_user(std::string_view args, Effects& out) {
    const auto a = split_args(args);
    if (!a || a->count != 1) return reply_err("Syntax: USER name", out);
    if (!sasl::valid_username(a->v[0], limits_.username_bytes_max)) return reply_err("Invalid user name", out);
    user_.assign(a->v[0]);
    reply_ok("Send PASS", out);
}

// RFC 1939 section 7: the password is the rest of the line, spaces included.
void Session::cmd_pass(std::string_view args, Effects& out) {
    if (user_.empty()) return reply_err("Send USER first", out);
    if (args.empty() || args.size() > limits_.secret_bytes_max) return reply_err("Syntax: PASS password", out);
    const auto* p = reinterpret_cast<const std::uint8_t*>(args.data());
    request_auth(std::exchange(user_, {}), crypto::SecretBytes::copy_of({p, args.size()}), AuthMethod::user_pass, out);
}

// RFC 5034. "AUTH" alone lists the mechanisms, as older clients (Outlook) expect.
void Session::cmd_auth(std::string_view args, Effects& out) {
    const auto a = split_args(args);
    if (!a) return reply_err("Syntax: AUTH mechanism [initial-response]", out);
    if (a->count == 0) {
        out.replies.append("+OK\r\nPLAIN\r\n.\r\n");
        return;
    }
    if (!iequals(a->v[0], "PLAIN")) return reply_err("Unsupported authentication mechanism", out);
    user_.clear();
    if (a->count == 1) {
        state_ = State::sasl_response;
        out.replies.append("+ \r\n");
        return;
    }
    sasl_plain(a->v[1] == "=" ? std::string_view() : a->v[1], out);
}

void Session::sasl_plain(std::string_view base64, Effects& out) {
    const std::size_t decoded_max = 2 * limits_.username_bytes_max + limits_.secret_bytes_max + 2;
    const auto message = sasl::base64_decode_secret(base64, decoded_max);
    if (!message) return reply_err("Invalid base64 data", out);
    auto plain = sasl::parse_plain(*message, limits_.username_bytes_max, limits_.secret_bytes_max);
    if (!plain.credentials) {
        if (plain.error == sasl::PlainError::authzid_differs) {
            return auth_failed("-ERR [AUTH] Authorization identity not allowed\r\n", out);
        }
        return reply_err("Malformed PLAIN credentials", out);
    }
    request_auth(std::move(plain.credentials->authcid), std::move(plain.credentials->password), AuthMethod::sasl_plain,
                 out);
}

void Session::request_auth(std::string username, crypto::SecretBytes secret, AuthMethod method, Effects& out) {
    state_ = State::auth_pending;
    out.auth = AuthRequest{std::move(username), std::move(secret), method};
}

void Session::cmd_quit(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("QUIT takes no arguments", out);
    std::vector<std::uint64_t> marked;
    if (state_ == State::transaction) {
        for (const auto& m : messages_) {
            if (m.deleted) marked.push_back(m.id);
        }
    }
    if (marked.empty()) {
        out.replies.append("+OK Bye\r\n");
        return close(out);
    }
    state_ = State::update_pending;  // RFC 1939 section 6: the UPDATE state
    out.expunge = std::move(marked);
}

// ---- TRANSACTION -------------------------------------------------------------------------------

void Session::cmd_stat(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("STAT takes no arguments", out);
    out.replies.append("+OK ");
    append_drop_counts(out.replies);
    out.replies.append("\r\n");
}

void Session::cmd_list(std::string_view args, Effects& out) { listing(args, Listing::sizes, out); }
void Session::cmd_uidl(std::string_view args, Effects& out) { listing(args, Listing::uidls, out); }

void Session::listing(std::string_view args, Listing kind, Effects& out) {
    const auto a = split_args(args);
    if (!a || a->count > 1) return reply_err("Syntax: LIST or UIDL [message]", out);
    std::string& r = out.replies;
    if (a->count == 1) {
        const std::size_t number = message_arg(a->v[0], out);
        if (number == 0) return;
        r.append("+OK ");
        listing_line(number, kind, r);
        return;
    }
    r.append("+OK ");
    append_drop_summary(r);
    r.append("\r\n");
    listing_kind_ = kind;
    listing_next_ = 0;
    state_ = State::listing;
    continue_listing(out);
}

// A whole listing of a large maildrop would be megabytes: it goes out in batches of about
// reply_bytes_soft_max, the next one when the caller reports the previous one sent.
void Session::continue_listing(Effects& out) {
    std::string& r = out.replies;
    while (listing_next_ < messages_.size() && r.size() < limits_.reply_bytes_soft_max) {
        const std::size_t i = listing_next_++;
        if (!messages_[i].deleted) listing_line(i + 1, listing_kind_, r);
    }
    if (listing_next_ < messages_.size()) return;
    r.append(".\r\n");
    finish_wait(out);
}

void Session::listing_line(std::size_t number, Listing kind, std::string& out) const {
    const Message& m = messages_[number - 1];
    append_number(out, number);
    out.push_back(' ');
    if (kind == Listing::sizes) {
        append_number(out, m.size_octets);
    } else {
        out.append(m.uidl);
    }
    out.append("\r\n");
}

void Session::cmd_retr(std::string_view args, Effects& out) {
    const auto a = split_args(args);
    if (!a || a->count != 1) return reply_err("Syntax: RETR message", out);
    const std::size_t number = message_arg(a->v[0], out);
    if (number != 0) start_body(number, std::nullopt, out);
}

void Session::cmd_top(std::string_view args, Effects& out) {
    const auto a = split_args(args);
    if (!a || a->count != 2) return reply_err("Syntax: TOP message lines", out);
    const auto lines = parse_number(a->v[1], line_count_digits_max);
    if (!lines) return reply_err("Invalid line count", out);
    const std::size_t number = message_arg(a->v[0], out);
    if (number != 0) start_body(number, *lines, out);
}

void Session::cmd_dele(std::string_view args, Effects& out) {
    const auto a = split_args(args);
    if (!a || a->count != 1) return reply_err("Syntax: DELE message", out);
    const std::size_t number = message_arg(a->v[0], out);
    if (number == 0) return;
    messages_[number - 1].deleted = true;
    out.replies.append("+OK Message ");
    append_number(out.replies, number);
    out.replies.append(" deleted\r\n");
}

void Session::cmd_noop(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("NOOP takes no arguments", out);
    out.replies.append("+OK\r\n");
}

void Session::cmd_rset(std::string_view args, Effects& out) {
    if (!args.empty()) return reply_err("RSET takes no arguments", out);
    for (auto& m : messages_) m.deleted = false;
    out.replies.append("+OK ");
    append_drop_summary(out.replies);
    out.replies.append("\r\n");
}

// The message number (1-based) when the argument names a message not marked deleted; else 0 after
// an -ERR reply. Only our own number is ever printed, never the client's text.
std::size_t Session::message_arg(std::string_view arg, Effects& out) {
    const auto n = parse_number(arg, message_number_digits_max);
    if (!n || *n == 0 || *n > messages_.size()) {
        reply_err("No such message", out);
        return 0;
    }
    const auto number = static_cast<std::size_t>(*n);
    if (messages_[number - 1].deleted) {
        reply_err("Message already deleted", out);
        return 0;
    }
    return number;
}

void Session::start_body(std::size_t number, std::optional<std::uint64_t> top_body_lines, Effects& out) {
    const Message& m = messages_[number - 1];
    body_ok_line_.clear();
    if (top_body_lines) {
        body_ok_line_.append("+OK Top of message follows\r\n");
    } else {
        body_ok_line_.append("+OK ");
        append_number(body_ok_line_, m.size_octets);
        body_ok_line_.append(" octets\r\n");
    }
    body_started_ = false;
    encoder_.reset(top_body_lines);
    state_ = State::body;
    out.body = BodyRequest{m.id, top_body_lines};
}

void Session::open_body_reply(Effects& out) {
    if (body_started_) return;
    body_started_ = true;
    out.replies.append(body_ok_line_);
}

// "N messages (M octets)" over the messages not marked deleted.
void Session::append_drop_summary(std::string& out) const {
    const auto [count, octets] = drop_totals();
    append_number(out, count);
    out.append(count == 1 ? " message (" : " messages (");
    append_number(out, octets);
    out.append(" octets)");
}

void Session::append_drop_counts(std::string& out) const {
    const auto [count, octets] = drop_totals();
    append_number(out, count);
    out.push_back(' ');
    append_number(out, octets);
}

std::pair<std::uint64_t, std::uint64_t> Session::drop_totals() const noexcept {
    std::uint64_t count = 0;
    std::uint64_t octets = 0;
    for (const auto& m : messages_) {
        if (m.deleted) continue;
        ++count;
        octets += m.size_octets;
    }
    return {count, octets};
}

}  // namespace vmx::pop3
