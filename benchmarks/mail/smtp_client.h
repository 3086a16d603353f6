// SmtpClient: one SMTP session of the load: greeting, EHLO, optional STARTTLS and AUTH PLAIN, then
// up to msgs_per_conn transactions (MAIL, RCPT x R, DATA, body) and QUIT; with --pipelining and
// the server's PIPELINING, MAIL, the RCPTs and DATA go as one group (RFC 2920). When transactions
// are paced (--rate with several per connection), each MAIL waits for the driver's on_turn().
// Pure: see load_client.h. One per connection, on its load thread.
// Invariants: a message counts only on the 250 after its final "."; every failed reply is counted
// once under its code; anything the server sent after its 220 to STARTTLS is discarded (RFC 3207).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/mail/load_client.h"
#include "benchmarks/mail/load_stats.h"
#include "benchmarks/mail/message_source.h"

namespace vmx::bench {

enum class TlsStart : std::uint8_t { none, starttls, implicit };

struct SmtpLoadOptions {
    std::string helo = "loadgen.vaultmx-bench.invalid";
    std::string from;
    std::vector<std::string> rcpts;       // used round-robin
    std::uint32_t rcpts_per_msg = 1;
    std::uint32_t msgs_per_conn = 10;
    TlsStart tls = TlsStart::none;
    std::string auth_user, auth_password;  // AUTH PLAIN when auth_user is set
    bool pipelining = false;
    // Each transaction waits for its turn on the --rate schedule and takes its budget unit then
    // (the connection is opened without one).
    bool transactions_paced = false;
};

// What the SMTP sessions of one load thread share: the bodies, the recipient cursor, the budget,
// the counters and the log of acknowledged messages.
struct SmtpThreadContext {
    const SmtpLoadOptions& options;
    MessageSource& source;
    WorkBudget& budget;
    LoadStats& stats;
    std::string* ack_log = nullptr;   // "<message-id> rcpt[,rcpt...]\n" per acknowledged message
    std::size_t next_rcpt = 0;
};

class SmtpClient final : public LoadClient {
public:
    // Unpaced, the session's first message was taken from the budget when the connection was
    // opened, so no connection is made that has no message to send.
    explicit SmtpClient(SmtpThreadContext& context)
        : context_(context), first_taken_(!context.options.transactions_paced) {}

    void feed(std::string_view plain, std::int64_t now_ns, ClientActions& act) override;
    void on_tls_started(std::int64_t now_ns, ClientActions& act) override;
    bool finished() const override { return state_ == State::done; }
    void on_sent(std::int64_t now_ns) override;
    void on_turn(std::int64_t now_ns, ClientActions& act) override;

private:
    enum class State : std::uint8_t { greeting, session, tls_wait, done };
    // What each reply the client waits for answers, in the order the commands went out.
    enum class Expect : std::uint8_t { greeting, ehlo, starttls, auth, mail, rcpt, data, body, rset, quit };

    struct Reply {
        int code = 0;
        std::vector<std::string> lines;   // text after "NNN-" / "NNN " (EHLO keywords)
    };

    void on_reply(const Reply& reply, std::int64_t now_ns, ClientActions& act);
    void on_ehlo(const Reply& reply, ClientActions& act, std::int64_t now_ns);
    void on_transaction_reply(Expect what, const Reply& reply, std::int64_t now_ns, ClientActions& act);
    void send(ClientActions& act, std::string_view command, Expect expect);
    void begin_work(std::int64_t now_ns, ClientActions& act);
    void take_and_begin(std::int64_t now_ns, ClientActions& act);
    void begin_transaction(std::int64_t now_ns, ClientActions& act);
    void send_rcpt(ClientActions& act);
    void end_transaction(std::int64_t now_ns, ClientActions& act);
    void fail_transaction(int code);
    void quit(ClientActions& act);
    void give_up(ClientActions& act, const std::string& kind);
    bool pipelined() const { return context_.options.pipelining && server_pipelining_; }

    SmtpThreadContext& context_;
    State state_ = State::greeting;
    LineBuffer lines_;
    Reply reply_;
    std::deque<Expect> expected_{Expect::greeting};
    bool server_pipelining_ = false;
    bool server_starttls_ = false;
    bool server_size_ = false;
    bool tls_done_ = false;
    bool authenticated_ = false;
    std::uint32_t transactions_started_ = 0;
    bool first_taken_;              // the budget unit taken when the connection was opened
    bool waiting_turn_ = false;     // paced: the next MAIL waits for on_turn()

    // The transaction in flight.
    std::vector<std::string_view> rcpts_;
    std::vector<std::string_view> accepted_;
    std::size_t rcpt_replies_ = 0;
    std::size_t rcpts_sent_ = 0;
    std::string body_;
    std::string message_id_;
    std::int64_t started_ns_ = 0;
    std::int64_t dot_sent_ns_ = 0;  // the final "." queued, then handed to the kernel (on_sent)
    bool dot_queued_ = false;       // queued and not yet seen sent
    bool mail_failed_ = false;
    bool transaction_failed_ = false;
};

}  // namespace vmx::bench
