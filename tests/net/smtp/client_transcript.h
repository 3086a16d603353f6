// Transcript harness for the SMTP client engine: plays server bytes and caller calls against a
// Client the way the delivery agent does (holding unconsumed bytes, dropping them after start_tls),
// once in one block per server step and once one byte at a time, and compares the commands sent
// exactly. Test-only; single thread.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/net/smtp/crlf_text.h"
#include "net/smtp/client.h"

namespace vmx::smtp::client_test {

enum class StepKind { server, client, send, tls, quit, abort };

struct TestMessage {
    std::string sender = "alice@example.org";
    std::vector<std::string> recipients = {"bob@example.com"};
    std::string body = "Subject: hi\r\n\r\nhello\r\n";
    bool smtputf8 = false;
    bool eight_bit = false;
};

struct Step {
    StepKind kind;
    std::string text;
    TestMessage message{};
    Abort why = Abort::timeout;
};

// crlf(): "\n" stands for CRLF in transcript text (crlf_text.h); raw() keeps bytes as written.
using transcript_text::crlf;
inline Step S(std::string_view s) { return {StepKind::server, crlf(s)}; }        // the server sends
inline Step raw(std::string s) { return {StepKind::server, std::move(s)}; }      // bytes as written
inline Step C(std::string_view s) { return {StepKind::client, crlf(s)}; }        // we must have sent this
inline Step send(TestMessage m = {}) { return {StepKind::send, {}, std::move(m)}; }
inline Step tls() { return {StepKind::tls, {}}; }
inline Step quit() { return {StepKind::quit, {}}; }
inline Step abort_session(Abort why) { return {StepKind::abort, {}, {}, why}; }

inline ClientOptions options(TlsPolicy tls = TlsPolicy::may) {
    ClientOptions o;
    o.helo = "out.example.org";
    o.tls = tls;
    return o;
}

inline ClientLimits test_limits() {
    ClientLimits l;
    l.reply_line_bytes_max = 512;
    l.reply_lines_max = 10;
    l.line_bytes_max = 100;
    l.recipients_max = 10;
    return l;
}

inline const char* status_name(DeliveryStatus s) {
    switch (s) {
        case DeliveryStatus::accepted: return "accepted";
        case DeliveryStatus::temp_failure: return "temp";
        case DeliveryStatus::perm_failure: return "perm";
    }
    return "?";
}

// "421 4.4.2 text" (a reply made up by the engine ends in " (local)").
inline std::string describe(const Reply& r) {
    return std::to_string(r.code) + " " + r.text + (r.from == ReplyFrom::client ? " (local)" : "");
}

// "accepted: 250 Ok | 0 accepted 250 Ok | 1 perm 550 no".
inline std::string describe(const MessageOutcome& m) {
    std::string s = std::string(status_name(m.status)) + ": " + describe(m.reply);
    for (const RecipientOutcome& r : m.recipients) {
        s += " | " + std::to_string(r.index) + " " + status_name(r.status) + " " + describe(r.reply);
    }
    return s;
}

enum class FeedMode { block, bytewise };

struct Played {
    std::vector<std::string> done;    // describe() of each outcome, in order
    std::vector<std::string> failed;  // describe() of each session failure
    std::size_t dropped_after_starttls = 0;
    std::size_t held_bytes_max = 0;
    bool closed = false;
    bool ready = false;  // at the end
};

class Player {
public:
    Player(const ClientLimits& limits, const ClientOptions& opts) : client_(limits, opts) {}

    Played play(const std::vector<Step>& steps, FeedMode mode) {
        for (std::size_t i = 0; i < steps.size(); ++i) step(steps[i], mode, i);
        EXPECT_EQ(commands_, "") << "commands left unchecked at the end" << (mode == FeedMode::block ? " (block)" : " (bytewise)");
        played_.ready = client_.ready();
        return played_;
    }

private:
    void step(const Step& s, FeedMode mode, std::size_t index) {
        switch (s.kind) {
            case StepKind::server: return server(s.text, mode);
            case StepKind::client:
                EXPECT_EQ(commands_, s.text) << "at step " << index << (mode == FeedMode::block ? " (block)" : " (bytewise)");
                commands_.clear();
                return;
            case StepKind::send: {
                EXPECT_TRUE(client_.ready()) << "send() at step " << index;
                if (!client_.ready()) return;
                const OutboundMessage m{s.message.sender, s.message.recipients, s.message.body, s.message.smtputf8,
                                        s.message.eight_bit};
                client_.send(m, fx_);
                break;
            }
            case StepKind::tls: client_.on_tls_started(fx_); break;
            case StepKind::quit: client_.quit(fx_); break;
            case StepKind::abort: client_.abort(s.why, fx_); break;
        }
        collect();
    }

    void server(const std::string& bytes, FeedMode mode) {
        if (mode == FeedMode::block) {
            held_ += bytes;
            pump(0);
            return;
        }
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            held_ += bytes[i];
            if (pump(bytes.size() - i - 1)) return;
        }
    }

    // What the agent does: feed while it makes progress. True when start_tls dropped the rest of
    // the step (of which `unread` bytes were not yet offered).
    bool pump(std::size_t unread) {
        while (!held_.empty()) {
            played_.held_bytes_max = std::max(played_.held_bytes_max, held_.size());
            const std::size_t used = client_.feed(held_, fx_);
            EXPECT_LE(used, held_.size());
            held_.erase(0, std::min(used, held_.size()));
            const bool start_tls = fx_.start_tls;
            collect();
            if (start_tls) {
                played_.dropped_after_starttls += held_.size() + unread;
                held_.clear();
                return true;
            }
            if (used == 0) break;
        }
        return false;
    }

    void collect() {
        commands_ += fx_.commands;
        fx_.commands.clear();
        fx_.start_tls = false;
        if (fx_.done) played_.done.push_back(describe(*fx_.done));
        fx_.done.reset();
        if (fx_.session_failed) played_.failed.push_back(describe(*fx_.session_failed));
        fx_.session_failed.reset();
        if (fx_.close) played_.closed = true;
    }

    Client client_;
    ClientEffects fx_;
    std::string held_;
    std::string commands_;
    Played played_;
};

// Plays the transcript both ways; both must give the same commands and the same outcomes.
inline Played expect_client_transcript(const std::vector<Step>& steps, const ClientOptions& opts = options(),
                                       const ClientLimits& limits = test_limits()) {
    Player block(limits, opts);
    Played a = block.play(steps, FeedMode::block);
    Player bytewise(limits, opts);
    Played b = bytewise.play(steps, FeedMode::bytewise);
    EXPECT_EQ(a.done, b.done);
    EXPECT_EQ(a.failed, b.failed);
    EXPECT_EQ(a.closed, b.closed);
    EXPECT_EQ(a.ready, b.ready);
    EXPECT_EQ(a.dropped_after_starttls, b.dropped_after_starttls);
    EXPECT_LE(b.held_bytes_max, limits.reply_line_bytes_max);  // one reply line at most
    return a;
}

}  // namespace vmx::smtp::client_test
