// Pop3Client: the POP3 side of the load. See pop3_client.h.
#include "benchmarks/mail/pop3_client.h"

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace vmx::bench {

std::size_t MultiLineScanner::scan(std::string_view bytes) {
    std::size_t i = 0;
    while (i < bytes.size() && state_ != State::done) {
        const char c = bytes[i];
        switch (state_) {
            case State::line_start:
                state_ = c == '.' ? State::dot : c == '\r' ? State::cr : State::in_line;
                break;
            case State::dot:
                state_ = c == '\r' ? State::dot_cr : State::in_line;  // "..x" is a stuffed line
                break;
            case State::dot_cr:
                state_ = c == '\n' ? State::done : State::in_line;
                break;
            case State::in_line: {
                // Skip to the next CR in one step: most bytes are inside lines.
                const void* cr = std::memchr(bytes.data() + i, '\r', bytes.size() - i);
                if (cr == nullptr) return bytes.size();
                i = static_cast<std::size_t>(static_cast<const char*>(cr) - bytes.data());
                state_ = State::cr;
                break;
            }
            case State::cr:
                state_ = c == '\n' ? State::line_start : c == '\r' ? State::cr : State::in_line;
                break;
            case State::done:
                break;
        }
        ++i;
    }
    return i;
}

void Pop3Client::feed(std::string_view plain, std::int64_t now_ns, ClientActions& act) {
    while (!plain.empty() && state_ != State::done) {
        if (in_data_) {
            const std::size_t used = scanner_.scan(plain);
            data_bytes_ += used;
            plain.remove_prefix(used);
            if (scanner_.done()) on_multiline_end(now_ns, act);
            continue;
        }
        if (!lines_.append(plain)) return give_up(act, "protocol");
        plain = {};
        std::string_view line;
        while (!in_data_ && state_ != State::done && lines_.next(line)) on_line(line, now_ns, act);
        // A multi-line response began: the bytes after its status line are data, scanned above.
        if (in_data_) {
            std::string rest = lines_.take_rest();
            if (!rest.empty()) return feed(rest, now_ns, act);
        }
    }
}

void Pop3Client::on_line(std::string_view line, std::int64_t now_ns, ClientActions& act) {
    if (line.rfind("+OK", 0) != 0) return refused(line, act);
    switch (state_) {
        case State::greeting:
            started_ns_ = now_ns;
            return send(act, fmt::format("USER {}\r\n", user_.address), State::user);
        case State::user:
            return send(act, fmt::format("PASS {}\r\n", user_.password), State::pass);
        case State::pass:
            stats_.record(Step::login, now_ns - started_ns_);
            return send(act, "STAT\r\n", State::stat);
        case State::stat: {
            const std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view{};
            const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), messages_);
            if (ec != std::errc()) return give_up(act, "protocol");
            if (messages_ == 0) return send(act, "QUIT\r\n", State::quit);
            send(act, "UIDL\r\n", State::uidl);
            return;
        }
        case State::uidl:
        case State::retr:
            in_data_ = true;
            scanner_.reset();
            data_bytes_ = 0;
            return;
        case State::dele:
            return next_message(now_ns, act);
        case State::quit:
            ++stats_.sessions;
            if (!refused_) ++stats_.transactions;
            state_ = State::done;
            act.close = true;
            return;
        case State::done:
            return;
    }
}

void Pop3Client::on_multiline_end(std::int64_t now_ns, ClientActions& act) {
    in_data_ = false;
    if (state_ == State::retr) {
        ++stats_.messages;
        stats_.bytes += data_bytes_;
        stats_.record(Step::retr, now_ns - started_ns_);
        if (options_.dele) return send(act, fmt::format("DELE {}\r\n", current_), State::dele);
    }
    next_message(now_ns, act);
}

void Pop3Client::next_message(std::int64_t now_ns, ClientActions& act) {
    if (current_ == messages_) return send(act, "QUIT\r\n", State::quit);
    ++current_;
    started_ns_ = now_ns;
    send(act, fmt::format("RETR {}\r\n", current_), State::retr);
}

void Pop3Client::send(ClientActions& act, std::string_view command, State next) {
    act.out += command;
    state_ = next;
}

void Pop3Client::refused(std::string_view line, ClientActions& act) {
    if (line.rfind("-ERR", 0) != 0) return give_up(act, "protocol");
    // "-ERR [IN-USE] ..." counts under its response code (RFC 3206); plain "-ERR" otherwise.
    std::string kind = "-ERR";
    if (line.size() > 5 && line[5] == '[') {
        const std::size_t close = line.find(']', 5);  // npos when there is none: not below 40 either
        if (close < 40) kind += fmt::format(" {}", line.substr(5, close - 4));
    }
    stats_.error(kind);
    refused_ = true;
    if (state_ == State::quit || state_ == State::greeting) {
        state_ = State::done;
        act.close = true;
        return;
    }
    send(act, "QUIT\r\n", State::quit);
}

void Pop3Client::give_up(ClientActions& act, const std::string& kind) {
    stats_.error(kind);
    state_ = State::done;
    act.close = true;
}

}  // namespace vmx::bench
