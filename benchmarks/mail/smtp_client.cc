// SmtpClient: the SMTP side of the load. See smtp_client.h.
#include "benchmarks/mail/smtp_client.h"

#include <fmt/format.h>

namespace vmx::bench {
namespace {

constexpr std::size_t reply_lines_max = 64;

bool positive(int code) { return code >= 200 && code < 400; }

bool parse_code(std::string_view line, int& code) {
    if (line.size() < 3) return false;
    code = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        if (line[i] < '0' || line[i] > '9') return false;
        code = code * 10 + (line[i] - '0');
    }
    return line.size() == 3 || line[3] == ' ' || line[3] == '-';
}

bool has_keyword(const std::vector<std::string>& lines, std::string_view keyword) {
    for (std::string_view line : lines) {
        const std::string_view word = line.substr(0, line.find(' '));
        if (word.size() != keyword.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < word.size() && same; ++i)
            same = (word[i] & ~0x20) == (keyword[i] & ~0x20);
        if (same) return true;
    }
    return false;
}

std::string base64(std::string_view in) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += 3) {
        std::uint32_t v = static_cast<std::uint8_t>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(in[i + 1])) << 8;
        if (i + 2 < in.size()) v |= static_cast<std::uint8_t>(in[i + 2]);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += i + 1 < in.size() ? alphabet[(v >> 6) & 63] : '=';
        out += i + 2 < in.size() ? alphabet[v & 63] : '=';
    }
    return out;
}

}  // namespace

void SmtpClient::feed(std::string_view plain, std::int64_t now_ns, ClientActions& act) {
    if (state_ == State::done || state_ == State::tls_wait) return;
    if (!lines_.append(plain)) return give_up(act, "protocol");
    std::string_view line;
    while (state_ != State::done && state_ != State::tls_wait && lines_.next(line)) {
        int code = 0;
        if (!parse_code(line, code) || (!reply_.lines.empty() && code != reply_.code) ||
            reply_.lines.size() == reply_lines_max)
            return give_up(act, "protocol");
        reply_.code = code;
        reply_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
        if (line.size() > 3 && line[3] == '-') continue;
        const Reply reply = std::move(reply_);
        reply_ = {};
        on_reply(reply, now_ns, act);
    }
    // RFC 3207: nothing the server sent before the handshake may be taken as said after it.
    if (state_ == State::tls_wait) lines_.clear();
}

void SmtpClient::on_tls_started(std::int64_t, ClientActions& act) {
    tls_done_ = true;
    if (state_ != State::tls_wait) return;  // implicit TLS: the greeting comes next
    state_ = State::session;
    send(act, fmt::format("EHLO {}\r\n", context_.options.helo), Expect::ehlo);
}

void SmtpClient::on_reply(const Reply& reply, std::int64_t now_ns, ClientActions& act) {
    if (expected_.empty()) return give_up(act, "protocol");  // a reply nobody asked for
    const Expect what = expected_.front();
    expected_.pop_front();
    if (reply.code == 421) return give_up(act, "421");  // the server is closing the channel
    switch (what) {
        case Expect::greeting:
            if (reply.code != 220) return give_up(act, std::to_string(reply.code));
            state_ = State::session;
            return send(act, fmt::format("EHLO {}\r\n", context_.options.helo), Expect::ehlo);
        case Expect::ehlo:
            return on_ehlo(reply, act, now_ns);
        case Expect::starttls:
            if (reply.code != 220) return give_up(act, std::to_string(reply.code));
            state_ = State::tls_wait;
            act.start_tls = true;
            return;
        case Expect::auth:
            if (reply.code != 235) return give_up(act, std::to_string(reply.code));
            authenticated_ = true;
            return begin_work(now_ns, act);
        case Expect::quit:
            ++context_.stats.sessions;
            state_ = State::done;
            act.close = true;
            return;
        default:
            return on_transaction_reply(what, reply, now_ns, act);
    }
}

void SmtpClient::on_ehlo(const Reply& reply, ClientActions& act, std::int64_t now_ns) {
    if (reply.code != 250) return give_up(act, std::to_string(reply.code));
    server_pipelining_ = has_keyword(reply.lines, "PIPELINING");
    server_starttls_ = has_keyword(reply.lines, "STARTTLS");
    server_size_ = has_keyword(reply.lines, "SIZE");
    const SmtpLoadOptions& o = context_.options;
    if (o.tls == TlsStart::starttls && !tls_done_) {
        if (!server_starttls_) return give_up(act, "no_starttls");
        return send(act, "STARTTLS\r\n", Expect::starttls);
    }
    if (!o.auth_user.empty() && !authenticated_) {
        const std::string plain = std::string(1, '\0') + o.auth_user + '\0' + o.auth_password;
        return send(act, fmt::format("AUTH PLAIN {}\r\n", base64(plain)), Expect::auth);
    }
    begin_work(now_ns, act);
}

void SmtpClient::on_transaction_reply(Expect what, const Reply& reply, std::int64_t now_ns, ClientActions& act) {
    const bool grouped = pipelined();
    switch (what) {
        case Expect::mail:
            if (!positive(reply.code)) {
                mail_failed_ = true;
                fail_transaction(reply.code);
                if (!grouped) send(act, "RSET\r\n", Expect::rset);
                return;
            }
            if (!grouped) send_rcpt(act);
            return;
        case Expect::rcpt:
            if (positive(reply.code)) {
                accepted_.push_back(rcpts_[rcpt_replies_]);
            } else if (!mail_failed_) {
                context_.stats.error(std::to_string(reply.code));  // one count per refused recipient
            }
            ++rcpt_replies_;
            if (grouped) return;
            if (rcpts_sent_ < rcpts_.size()) return send_rcpt(act);
            if (!accepted_.empty()) return send(act, "DATA\r\n", Expect::data);
            return send(act, "RSET\r\n", Expect::rset);
        case Expect::data:
            if (reply.code == 354) {
                act.out += body_;
                act.out += ".\r\n";
                expected_.push_back(Expect::body);
                dot_sent_ns_ = now_ns;   // until on_sent() says when the kernel took it
                dot_queued_ = true;
                return;
            }
            if (!mail_failed_ && !accepted_.empty()) fail_transaction(reply.code);
            return send(act, "RSET\r\n", Expect::rset);
        case Expect::body:
            if (positive(reply.code)) end_transaction(now_ns, act);
            else fail_transaction(reply.code);
            return begin_work(now_ns, act);
        case Expect::rset:
            return begin_work(now_ns, act);
        default:
            return give_up(act, "protocol");
    }
}

void SmtpClient::send(ClientActions& act, std::string_view command, Expect expect) {
    act.out += command;
    expected_.push_back(expect);
}

void SmtpClient::on_sent(std::int64_t now_ns) {
    if (!dot_queued_) return;
    dot_queued_ = false;
    dot_sent_ns_ = now_ns;
}

void SmtpClient::begin_work(std::int64_t now_ns, ClientActions& act) {
    if (transactions_started_ == context_.options.msgs_per_conn) return quit(act);
    if (context_.options.transactions_paced) {
        waiting_turn_ = true;
        act.wait_for_turn = true;
        return;
    }
    take_and_begin(now_ns, act);
}

void SmtpClient::on_turn(std::int64_t now_ns, ClientActions& act) {
    if (!waiting_turn_ || state_ == State::done) return;
    waiting_turn_ = false;
    take_and_begin(now_ns, act);
}

void SmtpClient::take_and_begin(std::int64_t now_ns, ClientActions& act) {
    const bool may_start = first_taken_ || context_.budget.take(now_ns);
    first_taken_ = false;
    if (!may_start) return quit(act);
    begin_transaction(now_ns, act);
}

void SmtpClient::begin_transaction(std::int64_t now_ns, ClientActions& act) {
    const SmtpLoadOptions& o = context_.options;
    ++transactions_started_;
    rcpts_.clear();
    accepted_.clear();
    rcpt_replies_ = 0;
    rcpts_sent_ = 0;
    mail_failed_ = false;
    transaction_failed_ = false;
    for (std::uint32_t i = 0; i < o.rcpts_per_msg; ++i) {
        rcpts_.push_back(o.rcpts[context_.next_rcpt]);
        context_.next_rcpt = (context_.next_rcpt + 1) % o.rcpts.size();
    }
    context_.source.build(context_.source.next_size(), o.from, rcpts_, body_, message_id_);
    started_ns_ = now_ns;
    if (server_size_) {
        send(act, fmt::format("MAIL FROM:<{}> SIZE={}\r\n", o.from, body_.size()), Expect::mail);
    } else {
        send(act, fmt::format("MAIL FROM:<{}>\r\n", o.from), Expect::mail);
    }
    if (!pipelined()) return;
    while (rcpts_sent_ < rcpts_.size()) send_rcpt(act);
    send(act, "DATA\r\n", Expect::data);
}

void SmtpClient::send_rcpt(ClientActions& act) {
    send(act, fmt::format("RCPT TO:<{}>\r\n", rcpts_[rcpts_sent_]), Expect::rcpt);
    ++rcpts_sent_;
}

void SmtpClient::end_transaction(std::int64_t now_ns, ClientActions&) {
    LoadStats& stats = context_.stats;
    ++stats.messages;
    ++stats.transactions;
    stats.bytes += body_.size();
    stats.recipients += accepted_.size();
    stats.record(Step::transaction, now_ns - started_ns_);
    stats.record(Step::end_of_data, now_ns - dot_sent_ns_);
    if (context_.ack_log == nullptr) return;
    std::string& log = *context_.ack_log;
    log += message_id_;
    for (std::size_t i = 0; i < accepted_.size(); ++i) {
        log += i ? ',' : ' ';
        log += accepted_[i];
    }
    log += '\n';
}

void SmtpClient::fail_transaction(int code) {
    if (transaction_failed_) return;
    transaction_failed_ = true;
    context_.stats.error(std::to_string(code));
}

void SmtpClient::quit(ClientActions& act) { send(act, "QUIT\r\n", Expect::quit); }

void SmtpClient::give_up(ClientActions& act, const std::string& kind) {
    context_.stats.error(kind);
    state_ = State::done;
    act.close = true;
}

}  // namespace vmx::bench
